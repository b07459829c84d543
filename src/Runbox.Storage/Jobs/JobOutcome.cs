using Runbox.Execution.Jobs;

namespace Runbox.Storage.Jobs;

/// <summary>How a job ended, as kept in the store (the engine's <see cref="JobResult"/> less the live parts).</summary>
public sealed record JobOutcome
{
    public required JobStatus Status { get; init; }

    public int? ExitCode { get; init; }

    public int? Signal { get; init; }

    public LimitKind LimitExceeded { get; init; }

    public byte[] Stdout { get; init; } = [];

    public byte[] Stderr { get; init; } = [];

    /// <summary>
    /// Read without <see cref="Stdout"/> and <see cref="Stderr"/> (a list, a status check), which are then empty rather
    /// than the job's: a job may hold tens of megabytes of output, read only where it is answered.
    /// </summary>
    public bool OutputLeftOut { get; init; }

    public bool StdoutTruncated { get; init; }

    public bool StderrTruncated { get; init; }

    public long WallMs { get; init; }

    public long CpuUserMs { get; init; }

    public long CpuSystemMs { get; init; }

    public long PeakMemoryBytes { get; init; }

    public string? Error { get; init; }

    public DateTimeOffset FinishedAt { get; init; }

    public static JobOutcome From(JobResult result) => new()
    {
        Status = result.Status,
        ExitCode = result.ExitCode,
        Signal = result.Signal,
        LimitExceeded = result.LimitExceeded,
        Stdout = result.Stdout,
        Stderr = result.Stderr,
        StdoutTruncated = result.StdoutTruncated,
        StderrTruncated = result.StderrTruncated,
        WallMs = result.WallMs,
        CpuUserMs = result.CpuUserMs,
        CpuSystemMs = result.CpuSystemMs,
        PeakMemoryBytes = result.PeakMemoryBytes,
        Error = result.Error,
        FinishedAt = result.FinishedAt,
    };
}
