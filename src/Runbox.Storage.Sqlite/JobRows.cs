using System.Text.Json;
using Microsoft.Data.Sqlite;
using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Sqlite;

/// <summary>Maps between <see cref="JobRecord"/> and a row of <c>jobs</c>.</summary>
internal static class JobRows
{
    public const string Columns =
        "id, owner, status, spec, created_at, started_at, finished_at, attempt, worker, cancel_requested, " +
        "exit_code, signal, limit_exceeded, stdout, stderr, stdout_truncated, stderr_truncated, " +
        "wall_ms, cpu_user_ms, cpu_system_ms, peak_memory_bytes, error";

    // The spec less its submission, written beside it at insert (migration 8): a list reads no script, nor parses one.
    // Rows from before that migration have none, and their spec is taken apart as it is read.
    private const string SpecWithoutSubmission =
        "coalesce(spec_summary, json_remove(spec, '$.script', '$.files', '$.args', '$.stdin', '$.env'))";

    /// <summary>
    /// <see cref="Columns"/> with NULL in place of stdout and stderr unless <paramref name="withOutput"/>, and the spec
    /// without its submission (<see cref="JobSpec.WithoutSubmission"/>) unless <paramref name="withSubmission"/>, so the
    /// store never reads what a list or a status check does not show; <see cref="Read(SqliteDataReader, bool, bool)"/> then
    /// marks the record <see cref="JobOutcome.OutputLeftOut"/> and <see cref="JobRecord.SubmissionLeftOut"/>.
    /// </summary>
    public static string ColumnsFor(bool withOutput, bool withSubmission) =>
        $"id, owner, status, {(withSubmission ? "spec" : SpecWithoutSubmission)}, created_at, started_at, finished_at, attempt, " +
        $"worker, cancel_requested, exit_code, signal, limit_exceeded, {(withOutput ? "stdout, stderr" : "NULL, NULL")}, " +
        "stdout_truncated, stderr_truncated, wall_ms, cpu_user_ms, cpu_system_ms, peak_memory_bytes, error";

    public const string Insert =
        "INSERT INTO jobs (id, owner, status, runtime, max_attempts, spec, spec_summary, created_at, started_at, finished_at, attempt, " +
        "worker, cancel_requested, exit_code, signal, limit_exceeded, stdout, stderr, stdout_truncated, stderr_truncated, " +
        "wall_ms, cpu_user_ms, cpu_system_ms, peak_memory_bytes, error) VALUES ($id, $owner, $status, $runtime, " +
        "$max_attempts, $spec, $spec_summary, $created_at, $started_at, $finished_at, $attempt, $worker, $cancel_requested, $exit_code, " +
        "$signal, $limit_exceeded, $stdout, $stderr, $stdout_truncated, $stderr_truncated, $wall_ms, $cpu_user_ms, " +
        "$cpu_system_ms, $peak_memory_bytes, $error)";

    public static SqliteCommand BindInsert(this SqliteCommand command, JobRecord job)
    {
        var outcome = job.Outcome;
        var finishedAt = job.FinishedAt ?? outcome?.FinishedAt;
        return command
            .With("$id", job.Id)
            .With("$owner", job.Owner)
            .With("$status", job.Status.ToWire())
            .With("$runtime", job.Spec.Runtime)
            .With("$max_attempts", Math.Max(1, job.Spec.MaxAttempts))
            .With("$spec", JsonSerializer.Serialize(job.Spec, JobSpecJson.Default.JobSpec))
            .With("$spec_summary", JsonSerializer.Serialize(job.Spec.WithoutSubmission(), JobSpecJson.Default.JobSpec))
            .With("$created_at", StoreTime.ToMicros(job.CreatedAt))
            .With("$started_at", job.StartedAt is { } started ? StoreTime.ToMicros(started) : null)
            .With("$finished_at", finishedAt is { } finished ? StoreTime.ToMicros(finished) : null)
            .With("$attempt", job.Attempt)
            .With("$worker", job.Worker)
            .With("$cancel_requested", job.CancelRequested)
            .BindOutcome(outcome ?? new JobOutcome { Status = job.Status });
    }

    public static SqliteCommand BindOutcome(this SqliteCommand command, JobOutcome outcome) => command
        .With("$exit_code", outcome.ExitCode)
        .With("$signal", outcome.Signal)
        .With("$limit_exceeded", outcome.LimitExceeded.ToWire())
        .With("$stdout", outcome.Stdout)
        .With("$stderr", outcome.Stderr)
        .With("$stdout_truncated", outcome.StdoutTruncated)
        .With("$stderr_truncated", outcome.StderrTruncated)
        .With("$wall_ms", outcome.WallMs)
        .With("$cpu_user_ms", outcome.CpuUserMs)
        .With("$cpu_system_ms", outcome.CpuSystemMs)
        .With("$peak_memory_bytes", outcome.PeakMemoryBytes)
        .With("$error", outcome.Error);

    /// <summary>Reads a row selected with <see cref="Columns"/>. The outcome is present once the job has ended.</summary>
    public static JobRecord Read(SqliteDataReader r) => Read(r, withOutput: true, withSubmission: true);

    /// <summary>Reads a row selected with <see cref="ColumnsFor"/>(<paramref name="withOutput"/>, <paramref name="withSubmission"/>).</summary>
    public static JobRecord Read(SqliteDataReader r, bool withOutput, bool withSubmission)
    {
        JobStatusExtensions.TryParseWire(r.GetString(2), out var status);
        var finishedAt = r.NullableInt64(6) is { } finished ? StoreTime.FromMicros(finished) : (DateTimeOffset?)null;
        var spec = JsonSerializer.Deserialize(r.GetString(3), JobSpecJson.Default.JobSpec)
            ?? throw new InvalidDataException("A job's spec is null.");
        return new JobRecord
        {
            Id = r.GetString(0),
            Owner = r.GetString(1),
            Status = status,
            // Cleared here too: keys missing from the JSON come back null, not the empty lists a spec otherwise has.
            Spec = withSubmission ? spec : spec.WithoutSubmission(),
            SubmissionLeftOut = !withSubmission,
            CreatedAt = StoreTime.FromMicros(r.GetInt64(4)),
            StartedAt = r.NullableInt64(5) is { } started ? StoreTime.FromMicros(started) : null,
            FinishedAt = finishedAt,
            Attempt = r.GetInt32(7),
            Worker = r.NullableString(8),
            CancelRequested = r.GetBoolean(9),
            Outcome = status.IsTerminal()
                ? new JobOutcome
                {
                    Status = status,
                    ExitCode = r.IsDBNull(10) ? null : r.GetInt32(10),
                    Signal = r.IsDBNull(11) ? null : r.GetInt32(11),
                    LimitExceeded = LimitKindExtensions.ParseWire(r.GetString(12)),
                    Stdout = r.IsDBNull(13) ? [] : (byte[])r.GetValue(13),
                    Stderr = r.IsDBNull(14) ? [] : (byte[])r.GetValue(14),
                    StdoutTruncated = r.GetBoolean(15),
                    StderrTruncated = r.GetBoolean(16),
                    WallMs = r.GetInt64(17),
                    CpuUserMs = r.GetInt64(18),
                    CpuSystemMs = r.GetInt64(19),
                    PeakMemoryBytes = r.GetInt64(20),
                    Error = r.NullableString(21),
                    FinishedAt = finishedAt ?? default,
                    OutputLeftOut = !withOutput,
                }
                : null,
        };
    }
}
