namespace Runbox.Server.Worker;

/// <summary>
/// Which runtimes this worker has ready: what it registers, and which jobs it claims. Kept by <see cref="RuntimeSync"/>
/// from the runtimes declared in the store; a store without runtime records leaves the engine's default runtime and
/// claims any job.
/// </summary>
public sealed class WorkerRuntimes
{
    private volatile Snapshot _current = new(["default"], null);

    public IReadOnlyList<string> Ready => _current.Ready;

    /// <summary>The runtimes filter for claims; null takes any job.</summary>
    public IReadOnlyCollection<string>? ClaimFilter => _current.Filter;

    /// <summary>One swap, so a claim never sees a half-updated pair.</summary>
    internal void Set(IReadOnlyList<string> ready, bool filter) => _current = new Snapshot(ready, filter ? ready : null);

    private sealed record Snapshot(IReadOnlyList<string> Ready, IReadOnlyCollection<string>? Filter);
}
