using Runbox.Execution.Native;

namespace Runbox.Execution.Sandbox;

/// <summary>What a job's cgroup measured.</summary>
internal sealed record CgroupUsage(long? PeakMemoryBytes, long? CpuUserNs, long? CpuSystemNs, bool OomKilled, bool ProcessLimitHit);

/// <summary>
/// The fresh cgroup one job ran in (one folder per hierarchy): made and joined by its pooled job process before
/// the job arrived, limited by the job as it starts, read after it ends, then emptied and removed. Fresh, so
/// every counter starts at zero.
/// </summary>
internal abstract class JobCgroup
{
    /// <summary>CPU time of everything in the cgroup so far, in nanoseconds; null when not measured.</summary>
    public abstract long? CpuUsageNs();

    /// <summary>What the job used and which limits it met, read after it ended.</summary>
    public abstract CgroupUsage Usage();

    /// <summary>Kills every process in the cgroup, including ones forking right now.</summary>
    protected abstract void KillAll();

    protected abstract IEnumerable<string> Directories { get; }

    /// <summary>Its folder in the first hierarchy, for messages.</summary>
    public string Location => Directories.First();

    // Once empty, for good: only root moves a process into a job's cgroup, and nothing does after the job started.
    private volatile bool _emptied;

    /// <summary>The folder of the pids controller, when the job's cgroup has one.</summary>
    protected abstract string? PidsDirectory { get; }

    /// <summary>
    /// Whether no process is left, dead ones not yet reaped included. A zombie is out of cgroup.procs but still
    /// counts against RLIMIT_NPROC of the slot's uid, so the slot's next job could meet that limit early; pids.current
    /// counts a task until it is reaped. Without a pids controller, one hierarchy's cgroup.procs tells.
    /// </summary>
    public bool IsEmpty => PidsDirectory is { } pids
        ? CgroupFiles.ReadNumber(Path.Combine(pids, "pids.current")) is null or 0
        : CgroupFiles.Processes(Directories.First()).Count == 0;

    /// <summary>Makes sure nothing of the job is left. The init kills everything before it reports, so this is
    /// usually true at once; anything still there after a few checks is killed.</summary>
    public bool Empty(TimeSpan timeout)
    {
        if (_emptied)
        {
            return true;
        }
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        for (var spins = 0; !IsEmpty; spins++)
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }
            if (spins >= 20)
            {
                KillAll();
            }
            Thread.Sleep(1);
        }
        _emptied = true;
        return true;
    }

    /// <summary>
    /// Empties and removes the cgroup; slow (the kernel waits for RCU), so callers run it in the background. A killed
    /// process leaves its cgroup only once the kernel has torn it down, which on a loaded host can take many seconds:
    /// it tries again, less and less often, for up to <paramref name="patience"/> (giving up after half a second, as
    /// it did until 2026-12-05, left such a cgroup behind for as long as the engine ran, one more each time). False
    /// when a folder is still there at the end.
    /// </summary>
    public async Task<bool> RemoveAsync(TimeSpan patience)
    {
        var deadline = Environment.TickCount64 + (long)patience.TotalMilliseconds;
        var pause = 10;
        Empty(TimeSpan.FromSeconds(2));
        while (true)
        {
            var left = Directories.Count(directory => !CgroupFiles.TryRemove(directory));
            if (left == 0)
            {
                return true;
            }
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }
            if (!IsEmpty)
            {
                KillAll();
            }
            await Task.Delay(pause);
            pause = Math.Min(pause * 2, 1000);
        }
    }

    protected static void KillListed(string directory)
    {
        foreach (var pid in CgroupFiles.Processes(directory))
        {
            Libc.Kill(pid, Libc.SIGKILL);
        }
    }
}
