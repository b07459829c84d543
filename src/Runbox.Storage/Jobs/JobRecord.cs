using Runbox.Execution.Jobs;

namespace Runbox.Storage.Jobs;

/// <summary>A job as the store holds it.</summary>
public sealed record JobRecord
{
    public required string Id { get; init; }

    /// <summary>The id of the API key that submitted it.</summary>
    public required string Owner { get; init; }

    public required JobStatus Status { get; init; }

    public required JobSpec Spec { get; init; }

    /// <summary>
    /// Read without its submission (<see cref="JobSpec.WithoutSubmission"/>: a list, a status read): the spec's
    /// <see cref="JobSpec.Script"/>, <see cref="JobSpec.Files"/> and <see cref="JobSpec.Stdin"/> are then null and its
    /// <see cref="JobSpec.Args"/> and <see cref="JobSpec.Env"/> empty rather than the job's; the rest of the spec is there.
    /// </summary>
    public bool SubmissionLeftOut { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Runs started so far (claims taken).</summary>
    public int Attempt { get; init; }

    /// <summary>The worker holding it while running.</summary>
    public string? Worker { get; init; }

    public bool CancelRequested { get; init; }

    /// <summary>Set once the job has ended.</summary>
    public JobOutcome? Outcome { get; init; }
}

/// <summary>A page of the jobs list, newest first. <see cref="NextCursor"/> is null on the last page.</summary>
public sealed record JobPage(IReadOnlyList<JobRecord> Jobs, string? NextCursor);

/// <summary>Filters for the jobs list. A null owner lists every owner's jobs (admins).</summary>
public sealed record JobQuery
{
    public string? Owner { get; init; }

    public JobStatus? Status { get; init; }

    public string? Runtime { get; init; }

    /// <summary>Substring of the script or the id.</summary>
    public string? Text { get; init; }

    public int Limit { get; init; } = 50;

    /// <summary>
    /// Whether the jobs' stdout and stderr are read; without, ended jobs' outcomes have <see cref="JobOutcome.OutputLeftOut"/>.
    /// Only a list that answers the output (JSON-RPC's <c>session_list</c>, the tasks adapter's list) asks for it.
    /// </summary>
    public bool WithOutput { get; init; }

    /// <summary>
    /// Whether the jobs' submissions (script, files, args, stdin, env) are read; without, <see cref="JobRecord.SubmissionLeftOut"/>.
    /// No list answers them: a script may be 10 MB, and a page 200 jobs.
    /// </summary>
    public bool WithSubmission { get; init; }

    public string? Cursor { get; init; }
}
