namespace Runbox.Storage.Notifications;

/// <summary>
/// In-process wake-ups behind <see cref="IJobStore.WaitForWorkAsync"/> and <see cref="IJobStore.WaitForJobChangeAsync"/>.
/// A pulse completes every waiter present at that moment; waiters that arrive later wait for the next pulse. Only a
/// hint: callers re-read the store, so a pulse missed between their read and their wait costs one poll interval.
/// </summary>
public sealed class ChangeSignals
{
    private TaskCompletionSource work = NewSignal();

    // One entry per job someone waits on, while someone does: a pulse removes it, and so does the last of its waiters
    // to give up. A waiter often outlives the job's last change (a stream, ?wait=true and the worker each begin a wait
    // before they read the job, then find it ended), and an entry left to the next pulse stayed for good: a job that
    // ended changes no more.
    private readonly Dictionary<string, JobWaiters> jobs = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    /// <summary>How many jobs are being waited on now (diagnostics: each holds a small entry here until its waits end).</summary>
    public int JobsWaitedOn
    {
        get
        {
            lock (gate)
            {
                return jobs.Count;
            }
        }
    }

    public void PulseWork() => Interlocked.Exchange(ref work, NewSignal()).TrySetResult();

    public void PulseJob(string jobId)
    {
        JobWaiters? waiters;
        lock (gate)
        {
            if (!jobs.Remove(jobId, out waiters))
            {
                return;
            }
        }
        waiters.Signal.TrySetResult();
    }

    /// <summary>Wakes every waiter: used when notifications may have been missed (a listener reconnected).</summary>
    public void PulseAll()
    {
        PulseWork();
        List<JobWaiters> all;
        lock (gate)
        {
            all = [.. jobs.Values];
            jobs.Clear();
        }
        foreach (var waiters in all)
        {
            waiters.Signal.TrySetResult();
        }
    }

    public Task WaitForWorkAsync(TimeSpan maxWait, CancellationToken cancellationToken) =>
        WaitAsync(Volatile.Read(ref work).Task, maxWait, cancellationToken);

    /// <summary>The wait begins when this is called (before it returns), so a change made after the call wakes it.</summary>
    public Task WaitForJobAsync(string jobId, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        JobWaiters? waiters;
        lock (gate)
        {
            if (!jobs.TryGetValue(jobId, out waiters))
            {
                waiters = new JobWaiters();
                jobs.Add(jobId, waiters);
            }
            waiters.Count++;
        }
        return WaitThenLeaveAsync(jobId, waiters, maxWait, cancellationToken);
    }

    private async Task WaitThenLeaveAsync(string jobId, JobWaiters waiters, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        try
        {
            await WaitAsync(waiters.Signal.Task, maxWait, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (gate)
            {
                // Only this entry: once pulsed, the job's next waiters have an entry of their own.
                if (--waiters.Count == 0 && jobs.TryGetValue(jobId, out var current) && current == waiters)
                {
                    jobs.Remove(jobId);
                }
            }
        }
    }

    private static async Task WaitAsync(Task signal, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        // Reaching maxWait is the normal poll path, several times a second on an idle server: awaited without throwing,
        // as a thrown TimeoutException costs CPU and floods debuggers' and dotnet-counters' exception counts. A signal
        // never faults, so the only outcome to surface is the caller's cancellation.
        await signal.WaitAsync(maxWait, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class JobWaiters
    {
        public readonly TaskCompletionSource Signal = NewSignal();

        /// <summary>Waits begun and not yet ended; changed under the gate only.</summary>
        public int Count;
    }
}
