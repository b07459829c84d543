namespace Runbox.Server.Jobs;

/// <summary>A job as the API shows it: what was asked, where it is, and once it ended its whole result.</summary>
public sealed record JobResponse
{
    public required string Id { get; init; }

    public required string Owner { get; init; }

    public required string Status { get; init; }

    public required string Language { get; init; }

    public required string Runtime { get; init; }

    public string? Entrypoint { get; init; }

    public required JobLimitsBody Limits { get; init; }

    public bool Network { get; init; }

    public string? CallbackUrl { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    public int Attempt { get; init; }

    public int MaxAttempts { get; init; } = 1;

    /// <summary>The worker slot (<c>node/slot</c>) that ran or runs it.</summary>
    public string? Worker { get; init; }

    public bool CancelRequested { get; init; }

    public int? ExitCode { get; init; }

    public int? Signal { get; init; }

    public string? LimitExceeded { get; init; }

    /// <summary>Output decoded as UTF-8 (invalid bytes replaced); the exact bytes are at <c>/stdout</c>.</summary>
    public string? Stdout { get; init; }

    public string? Stderr { get; init; }

    public bool StdoutTruncated { get; init; }

    public bool StderrTruncated { get; init; }

    public long? WallMs { get; init; }

    public long? CpuUserMs { get; init; }

    public long? CpuSystemMs { get; init; }

    public long? PeakMemoryBytes { get; init; }

    public string? Error { get; init; }

    /// <summary>Listed on a single job once it ended; null in lists.</summary>
    public List<ArtifactResponse>? Artifacts { get; init; }

    /// <summary>The submitted script, args and stdin: on a single job only, so it can be run again.</summary>
    public string? Script { get; init; }

    public List<string>? Args { get; init; }

    public string? Stdin { get; init; }
}

public sealed record ArtifactResponse(string Name, long Size, DateTimeOffset CreatedAt, string Url);

public sealed record ArtifactListResponse(string JobId, List<ArtifactResponse> Artifacts);

public sealed record JobListResponse(List<JobResponse> Jobs, string? NextCursor);

/// <summary>
/// A line of output without its newline. <c>ended: false</c> (and only then is it written) marks a line the job left
/// unfinished: the text printed so far without a newline, or a piece of a line over 64 KiB; the next line of the same
/// stream goes on from it.
/// </summary>
public sealed record LogLineResponse(
    long Seq,
    DateTimeOffset Timestamp,
    string Stream,
    string Text,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] bool? Ended = null);

/// <summary>
/// One page of log lines; ask again with <c>after_seq = next_seq</c>. <c>done</c>: the job ended and this is the last page.
/// <c>more_before</c>, on a tail (<c>?tail=N</c>) only: the job has earlier lines than these.
/// </summary>
public sealed record LogPageResponse(
    string JobId,
    string Status,
    List<LogLineResponse> Lines,
    long NextSeq,
    bool Done,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] bool? MoreBefore = null);
