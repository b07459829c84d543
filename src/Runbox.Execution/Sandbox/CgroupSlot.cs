using Runbox.Execution.Jobs;
using Runbox.Execution.Native;

namespace Runbox.Execution.Sandbox;

/// <summary>What a slot's cgroup measured for one job.</summary>
internal sealed record CgroupUsage(long? PeakMemoryBytes, long? CpuUserNs, long? CpuSystemNs, bool OomKilled, bool ProcessLimitHit);

/// <summary>
/// The cgroup one engine slot's jobs run in: reset and limited before each job, read after it, and emptied
/// before the slot is used again. Only the slot's current job touches it, so no locking.
/// </summary>
internal abstract class CgroupSlot
{
    /// <summary>The cgroup.procs files the job's init joins before forking the job.</summary>
    public abstract IReadOnlyList<string> ProcsFiles { get; }

    /// <summary>Whether memory is limited here (so the address-space rlimit stand-in can go).</summary>
    public abstract bool LimitsMemory { get; }

    /// <summary>Whether the number of processes is limited here.</summary>
    public abstract bool LimitsProcesses { get; }

    /// <summary>Resets the counters, sets the job's limits and notes the counters that cannot be reset.</summary>
    public abstract void Prepare(JobLimits limits);

    /// <summary>CPU time of everything in the cgroup since <see cref="Prepare"/>, in nanoseconds; null when not measured.</summary>
    public abstract long? CpuUsageNs();

    /// <summary>What the job used and which limits it met, read after it ended.</summary>
    public abstract CgroupUsage Usage();

    /// <summary>Kills every process in the cgroup, including ones forking right now.</summary>
    protected abstract void KillAll();

    protected abstract IEnumerable<string> Directories { get; }

    public bool IsEmpty => Directories.All(d => CgroupFiles.Processes(d).Count == 0);

    /// <summary>Makes sure nothing of the last job is left before the slot is reused. The init exits right after
    /// its report, so a short wait usually suffices; anything still there after it is killed.</summary>
    public bool Empty(TimeSpan timeout)
    {
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
        return true;
    }

    public void Remove()
    {
        Empty(TimeSpan.FromSeconds(2));
        foreach (var directory in Directories)
        {
            for (var attempt = 0; attempt < 50 && !CgroupFiles.TryRemove(directory); attempt++)
            {
                Thread.Sleep(10); // a killed process leaves its cgroup only once the kernel has torn it down
            }
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
