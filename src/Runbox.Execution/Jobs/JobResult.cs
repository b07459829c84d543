namespace Runbox.Execution.Jobs;

/// <summary>A file the job left in its working directory.</summary>
/// <param name="Name">Path relative to the working directory, with '/' separators.</param>
/// <param name="Size">Its length in bytes.</param>
/// <param name="Path">Where the file can be read now (the artifact directory when one was given).</param>
public sealed record Artifact(string Name, long Size, string Path);

/// <summary>How a job ended and what it used.</summary>
public sealed record JobResult
{
    /// <summary>The request's id, or the one the engine generated.</summary>
    public required string Id { get; init; }

    /// <summary>How it ended: succeeded, failed, timed_out, cancelled or error.</summary>
    public required JobStatus Status { get; init; }

    /// <summary>The exit code when the process exited; null when it was killed by a signal or never ran.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The signal that killed it, or null when it exited.</summary>
    public int? Signal { get; init; }

    /// <summary>Which limit ended it, or <see cref="LimitKind.None"/>.</summary>
    public LimitKind LimitExceeded { get; init; }

    /// <summary>Everything it wrote to stdout, byte for byte, up to the output limit.</summary>
    public byte[] Stdout { get; init; } = [];

    /// <summary>Everything it wrote to stderr, byte for byte, up to the output limit.</summary>
    public byte[] Stderr { get; init; } = [];

    /// <summary>Whether stdout was cut at the output limit.</summary>
    public bool StdoutTruncated { get; init; }

    /// <summary>Whether stderr was cut at the output limit.</summary>
    public bool StderrTruncated { get; init; }

    /// <summary>Wall time from start to end, in milliseconds.</summary>
    public long WallMs { get; init; }

    /// <summary>User CPU time of all its processes, in milliseconds.</summary>
    public long CpuUserMs { get; init; }

    /// <summary>System CPU time of all its processes, in milliseconds.</summary>
    public long CpuSystemMs { get; init; }

    /// <summary>The most memory it held at once (its cgroup's peak; else the largest resident set).</summary>
    public long PeakMemoryBytes { get; init; }

    /// <summary>The files it created or changed in its working directory (copied to <see cref="JobRequest.ArtifactDirectory"/> when one was given).</summary>
    public IReadOnlyList<Artifact> Artifacts { get; init; } = [];

    /// <summary>
    /// Files the job left that are not among <see cref="Artifacts"/> because they were past
    /// <see cref="Engine.EngineOptions.MaxArtifactBytes"/> (in total) or <see cref="Engine.EngineOptions.MaxArtifactCount"/>.
    /// </summary>
    public int ArtifactsSkipped { get; init; }

    /// <summary>When it started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset FinishedAt { get; init; }

    /// <summary>Why Runbox could not run the job (status error), or what else went wrong.</summary>
    public string? Error { get; init; }

    /// <summary>The shell convention: the exit code, or 128 + signal when killed, or 1 when it never ran.</summary>
    public int ShellExitCode => ExitCode ?? (Signal is { } s ? 128 + s : 1);
}
