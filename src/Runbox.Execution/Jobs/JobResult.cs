namespace Runbox.Execution.Jobs;

/// <summary>A file the job left in its working directory.</summary>
/// <param name="Name">Path relative to the working directory, with '/' separators.</param>
/// <param name="Path">Where the file can be read now (the artifact directory when one was given).</param>
public sealed record Artifact(string Name, long Size, string Path);

/// <summary>How a job ended and what it used.</summary>
public sealed record JobResult
{
    public required string Id { get; init; }

    public required JobStatus Status { get; init; }

    /// <summary>The exit code when the process exited; null when it was killed by a signal or never ran.</summary>
    public int? ExitCode { get; init; }

    public int? Signal { get; init; }

    public LimitKind LimitExceeded { get; init; }

    public byte[] Stdout { get; init; } = [];

    public byte[] Stderr { get; init; } = [];

    public bool StdoutTruncated { get; init; }

    public bool StderrTruncated { get; init; }

    public long WallMs { get; init; }

    public long CpuUserMs { get; init; }

    public long CpuSystemMs { get; init; }

    public long PeakMemoryBytes { get; init; }

    public IReadOnlyList<Artifact> Artifacts { get; init; } = [];

    /// <summary>
    /// Files the job left that are not among <see cref="Artifacts"/> because they were past
    /// <see cref="Engine.EngineOptions.MaxArtifactBytes"/> (in total) or <see cref="Engine.EngineOptions.MaxArtifactCount"/>.
    /// </summary>
    public int ArtifactsSkipped { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset FinishedAt { get; init; }

    /// <summary>Why Runbox could not run the job (status error), or what else went wrong.</summary>
    public string? Error { get; init; }

    /// <summary>The shell convention: the exit code, or 128 + signal when killed, or 1 when it never ran.</summary>
    public int ShellExitCode => ExitCode ?? (Signal is { } s ? 128 + s : 1);
}
