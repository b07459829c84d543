namespace Runbox.Server.Worker;

/// <summary>
/// Which runtimes this worker has ready: what it registers, and which jobs it claims. Kept by <see cref="RuntimeSync"/>
/// from the runtimes declared in the store; a store without runtime records leaves the engine's default runtime and
/// claims any job.
/// </summary>
public sealed class WorkerRuntimes
{
    private volatile Snapshot _current = new(["default"], null);
    private volatile TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<string> Ready => _current.Ready;

    /// <summary>The runtimes filter for claims; null takes any job.</summary>
    public IReadOnlyCollection<string>? ClaimFilter => _current.Filter;

    /// <summary>Completes when the ready set changes, so the registry can show it without waiting for the next heartbeat.</summary>
    public Task Changed => _changed.Task;

    /// <summary>One swap, so a claim never sees a half-updated pair.</summary>
    internal void Set(IReadOnlyList<string> ready, bool filter)
    {
        var before = _current;
        _current = new Snapshot(ready, filter ? ready : null);
        if (!before.Ready.SequenceEqual(ready))
        {
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    private sealed record Snapshot(IReadOnlyList<string> Ready, IReadOnlyCollection<string>? Filter);
}
