using System.Collections.Concurrent;

namespace Runbox.Storage.Notifications;

/// <summary>
/// In-process wake-ups behind <see cref="IJobStore.WaitForWorkAsync"/> and <see cref="IJobStore.WaitForJobChangeAsync"/>.
/// A pulse completes every waiter present at that moment; waiters that arrive later wait for the next pulse. Only a
/// hint: callers re-read the store, so a pulse missed between their read and their wait costs one poll interval.
/// </summary>
public sealed class ChangeSignals
{
    private TaskCompletionSource work = NewSignal();

    // One entry per job someone waits on; a pulse removes it, so entries live only while a change is awaited.
    private readonly ConcurrentDictionary<string, TaskCompletionSource> jobs = new(StringComparer.Ordinal);

    public void PulseWork() => Interlocked.Exchange(ref work, NewSignal()).TrySetResult();

    public void PulseJob(string jobId)
    {
        if (jobs.TryRemove(jobId, out var signal))
        {
            signal.TrySetResult();
        }
    }

    /// <summary>Wakes every waiter: used when notifications may have been missed (a listener reconnected).</summary>
    public void PulseAll()
    {
        PulseWork();
        foreach (var jobId in jobs.Keys)
        {
            PulseJob(jobId);
        }
    }

    public Task WaitForWorkAsync(TimeSpan maxWait, CancellationToken cancellationToken) =>
        WaitAsync(Volatile.Read(ref work).Task, maxWait, cancellationToken);

    public Task WaitForJobAsync(string jobId, TimeSpan maxWait, CancellationToken cancellationToken) =>
        WaitAsync(jobs.GetOrAdd(jobId, _ => NewSignal()).Task, maxWait, cancellationToken);

    private static async Task WaitAsync(Task signal, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        try
        {
            await signal.WaitAsync(maxWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Reaching maxWait is the normal poll path, not a failure.
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
