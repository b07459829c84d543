namespace Runbox.Execution.Jobs;

/// <summary>
/// What a job may use. A null limit means the engine's default for it (see <see cref="Engine.EngineOptions"/>).
/// </summary>
public sealed record JobLimits
{
    /// <summary>Wall-clock time from start to kill.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>CPU time, in seconds, of all the job's processes (<see cref="LimitKind.CpuTime"/>, status timed_out).</summary>
    public double? CpuSeconds { get; init; }

    /// <summary>Memory of all the job's processes (a memory cgroup; without one, an address space limit of this plus 256 MB, and none for Node.js).</summary>
    public long? MemoryBytes { get; init; }

    /// <summary>Processes and threads the job may have at once.</summary>
    public int? Processes { get; init; }

    /// <summary>Bytes of stdout plus stderr kept; past it the job is killed with <see cref="LimitKind.Output"/>.</summary>
    public long? OutputBytes { get; init; }

    /// <summary>Largest file the job may write.</summary>
    public long? FileSizeBytes { get; init; }

    /// <summary>Open file descriptors per process (RLIMIT_NOFILE).</summary>
    public int? OpenFiles { get; init; }

    /// <summary>
    /// Total bytes of the job's working folder (inputs included); past it writes fail with ENOSPC and a failed job
    /// is named <see cref="LimitKind.Disk"/>. Only where the engine may mount (root); see <c>SandboxCapabilities.DiskLimit</c>.
    /// </summary>
    public long? DiskBytes { get; init; }
}
