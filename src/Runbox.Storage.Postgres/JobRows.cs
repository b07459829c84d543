using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Postgres;

/// <summary>Maps between <see cref="JobRecord"/> and a row of <c>jobs</c>.</summary>
internal static class JobRows
{
    public const string Columns =
        "id, owner, status, spec, created_at, started_at, finished_at, attempt, worker, cancel_requested, " +
        "exit_code, signal, limit_exceeded, stdout, stderr, stdout_truncated, stderr_truncated, " +
        "wall_ms, cpu_user_ms, cpu_system_ms, peak_memory_bytes, error";

    // The spec less its submission, written beside it at insert (migration 8), so the script and files are never read from
    // their TOAST. Rows from before that migration have none: their spec is read whole and cleared in Read (PostgreSQL's
    // JSON functions refuse the \u0000 a json column may hold, so the database cannot take it apart).
    private const string SpecWithoutSubmission = "coalesce(spec_summary, spec)";

    /// <summary>
    /// <see cref="Columns"/> with NULL in place of stdout and stderr unless <paramref name="withOutput"/>, and the spec
    /// without its submission (<see cref="JobSpec.WithoutSubmission"/>) unless <paramref name="withSubmission"/>, so the
    /// store never reads what a list or a status check does not show; <see cref="Read(NpgsqlDataReader, bool, bool)"/> then
    /// marks the record <see cref="JobOutcome.OutputLeftOut"/> and <see cref="JobRecord.SubmissionLeftOut"/>.
    /// </summary>
    public static string ColumnsFor(bool withOutput, bool withSubmission) =>
        $"id, owner, status, {(withSubmission ? "spec" : SpecWithoutSubmission)}, created_at, started_at, finished_at, attempt, " +
        $"worker, cancel_requested, exit_code, signal, limit_exceeded, {(withOutput ? "stdout, stderr" : "NULL::bytea, NULL::bytea")}, " +
        "stdout_truncated, stderr_truncated, wall_ms, cpu_user_ms, cpu_system_ms, peak_memory_bytes, error";

    public const string OutcomeAssignments =
        "exit_code = @exit_code, signal = @signal, limit_exceeded = @limit_exceeded, stdout = @stdout, stderr = @stderr, " +
        "stdout_truncated = @stdout_truncated, stderr_truncated = @stderr_truncated, wall_ms = @wall_ms, " +
        "cpu_user_ms = @cpu_user_ms, cpu_system_ms = @cpu_system_ms, peak_memory_bytes = @peak_memory_bytes, error = @error";

    public const string Insert =
        "INSERT INTO jobs (id, owner, status, runtime, max_attempts, spec, spec_summary, script_text, created_at, started_at, finished_at, " +
        "attempt, worker, cancel_requested, exit_code, signal, limit_exceeded, stdout, stderr, stdout_truncated, " +
        "stderr_truncated, wall_ms, cpu_user_ms, cpu_system_ms, peak_memory_bytes, error) VALUES (@id, @owner, @status, " +
        "@runtime, @max_attempts, @spec, @spec_summary, @script_text, @created_at, @started_at, @finished_at, @attempt, @worker, " +
        "@cancel_requested, @exit_code, @signal, @limit_exceeded, @stdout, @stderr, @stdout_truncated, @stderr_truncated, " +
        "@wall_ms, @cpu_user_ms, @cpu_system_ms, @peak_memory_bytes, @error)";

    public static NpgsqlCommand BindInsert(this NpgsqlCommand command, JobRecord job) => command
        .With("id", job.Id)
        .With("owner", job.Owner)
        .With("status", job.Status.ToWire())
        .With("runtime", job.Spec.Runtime)
        .With("max_attempts", Math.Max(1, job.Spec.MaxAttempts))
        .With("spec", JsonSerializer.Serialize(job.Spec, JobSpecJson.Default.JobSpec), NpgsqlDbType.Json)
        .With("spec_summary", JsonSerializer.Serialize(job.Spec.WithoutSubmission(), JobSpecJson.Default.JobSpec), NpgsqlDbType.Json)
        .With("script_text", job.Spec.Script?.Replace("\0", "", StringComparison.Ordinal), NpgsqlDbType.Text)
        .WithTime("created_at", job.CreatedAt)
        .WithTime("started_at", job.StartedAt)
        .WithTime("finished_at", job.FinishedAt ?? job.Outcome?.FinishedAt)
        .With("attempt", job.Attempt)
        .With("worker", job.Worker, NpgsqlDbType.Text)
        .With("cancel_requested", job.CancelRequested)
        .BindOutcome(job.Outcome ?? new JobOutcome { Status = job.Status });

    public static NpgsqlCommand BindOutcome(this NpgsqlCommand command, JobOutcome outcome) => command
        .With("exit_code", outcome.ExitCode, NpgsqlDbType.Integer)
        .With("signal", outcome.Signal, NpgsqlDbType.Integer)
        .With("limit_exceeded", outcome.LimitExceeded.ToWire())
        .With("stdout", outcome.Stdout, NpgsqlDbType.Bytea)
        .With("stderr", outcome.Stderr, NpgsqlDbType.Bytea)
        .With("stdout_truncated", outcome.StdoutTruncated)
        .With("stderr_truncated", outcome.StderrTruncated)
        .With("wall_ms", outcome.WallMs)
        .With("cpu_user_ms", outcome.CpuUserMs)
        .With("cpu_system_ms", outcome.CpuSystemMs)
        .With("peak_memory_bytes", outcome.PeakMemoryBytes)
        .With("error", outcome.Error, NpgsqlDbType.Text);

    /// <summary>Reads a row selected with <see cref="Columns"/>. The outcome is present once the job has ended.</summary>
    public static JobRecord Read(NpgsqlDataReader r) => Read(r, withOutput: true, withSubmission: true);

    /// <summary>Reads a row selected with <see cref="ColumnsFor"/>(<paramref name="withOutput"/>, <paramref name="withSubmission"/>).</summary>
    public static JobRecord Read(NpgsqlDataReader r, bool withOutput, bool withSubmission)
    {
        JobStatusExtensions.TryParseWire(r.GetString(2), out var status);
        var finishedAt = r.NullableTime(6);
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
            CreatedAt = r.GetFieldValue<DateTimeOffset>(4),
            StartedAt = r.NullableTime(5),
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
                    Stdout = r.IsDBNull(13) ? [] : r.GetFieldValue<byte[]>(13),
                    Stderr = r.IsDBNull(14) ? [] : r.GetFieldValue<byte[]>(14),
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
