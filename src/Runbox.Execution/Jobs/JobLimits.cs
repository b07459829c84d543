namespace Runbox.Execution.Jobs;

/// <summary>
/// What a job may use. A null limit means the engine's default for it (see <see cref="Engine.EngineOptions"/>).
/// </summary>
public sealed record JobLimits
{
    /// <summary>Wall-clock time from start to kill.</summary>
    public TimeSpan? Timeout { get; init; }

    public double? CpuSeconds { get; init; }

    public long? MemoryBytes { get; init; }

    /// <summary>Processes and threads the job may have at once.</summary>
    public int? Processes { get; init; }

    /// <summary>Bytes of stdout plus stderr kept; past it the job is killed with <see cref="LimitKind.Output"/>.</summary>
    public long? OutputBytes { get; init; }

    /// <summary>Largest file the job may write.</summary>
    public long? FileSizeBytes { get; init; }

    public int? OpenFiles { get; init; }

    /// <summary>
    /// Total bytes of the job's working folder (inputs included); past it writes fail with ENOSPC and a failed job
    /// is named <see cref="LimitKind.Disk"/>. Only where the engine may mount (root); see <c>SandboxCapabilities.DiskLimit</c>.
    /// </summary>
    public long? DiskBytes { get; init; }
}
