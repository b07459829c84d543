using System.Text;
using Npgsql;
using NpgsqlTypes;
using Runbox.Execution.Jobs;

namespace Runbox.Storage.Postgres;

public sealed partial class PostgresJobStore
{
    public Task AppendLogsAsync(string jobId, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken = default) =>
        // FOR KEY SHARE, as the foreign key's check did: a delete waits for the batch or the batch finds no job.
        AppendAsync(jobId, lines, "id = @id FOR KEY SHARE", command => command.With("id", jobId), cancellationToken);

    public Task<bool> AppendLogsAsync(string id, string token, int attempt, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken) =>
        // FOR SHARE, not KEY SHARE: it also waits for (and then re-checks the fence against) a rescue's or a renewal's
        // UPDATE, and holds off a rescue until the batch commits, so the next claim's clearing of the lost run's lines
        // sees every line this run stored.
        AppendAsync(id, lines, $"{Fence} FOR SHARE", command => command.WithFence(id, token, attempt), cancellationToken);

    /// <summary>
    /// Appends the lines when the job's row matches <paramref name="lockJob"/> (a WHERE clause with its row lock), checked
    /// in the same statement. False, storing nothing, when no row matches.
    /// </summary>
    private async Task<bool> AppendAsync(string jobId, IReadOnlyList<LogLine> lines, string lockJob, Func<NpgsqlCommand, NpgsqlCommand> bind, CancellationToken cancellationToken)
    {
        if (lines.Count == 0)
        {
            return true;
        }
        // One statement for the batch: the lines, and the NOTIFY, become visible together. A worker retrying a batch
        // after a failed acknowledgement sends lines again: ON CONFLICT drops them. A deleted job takes no lines: its
        // row is locked once for the batch (migration 7), so a delete either waits for the batch, whose lines its
        // trigger then deletes, or comes first and the batch finds no job. The row comes back whether or not a line was
        // new, so a retried batch is told apart from a refused one.
        await using var append = bind(Command($"""
            WITH job AS (SELECT id FROM jobs WHERE {lockJob}),
            appended AS (
                INSERT INTO log_lines (job_id, seq, ts, stream, line, ended)
                SELECT job.id, batch.seq, batch.ts, batch.stream, batch.line, batch.ended
                FROM job, unnest(@seqs, @timestamps, @streams, @lines, @ended) AS batch (seq, ts, stream, line, ended)
                ON CONFLICT (job_id, seq) DO NOTHING
                RETURNING job_id)
            SELECT job.id, (SELECT {NotifyChannels.NotifyJob} FROM (SELECT DISTINCT job_id AS id FROM appended) AS changed)
            FROM job
            """))
            .With("seqs", lines.Select(line => line.Seq).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bigint)
            .With("timestamps", lines.Select(line => line.Timestamp.ToUniversalTime()).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.TimestampTz)
            .With("streams", lines.Select(line => line.StreamName).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)
            .With("lines", lines.Select(line => Encoding.UTF8.GetBytes(line.Text)).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bytea)
            .With("ended", lines.Select(line => line.Ended).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Boolean);
        var held = await append.ReadAllAsync(_ => true, cancellationToken).ConfigureAwait(false);
        if (held.Count == 0)
        {
            return false;
        }
        signals.PulseJob(jobId);
        return true;
    }

    /// <summary>Lines deleted by one statement: a few tenths of a second, far within any command timeout.</summary>
    private const int LinesPerDelete = 50_000;

    /// <summary>
    /// Deletes the jobs' lines, <see cref="LinesPerDelete"/> a statement, before their rows go. A job may hold tens of
    /// millions of lines (64 MiB of empty ones): the delete trigger alone took them in one statement, which outlasted
    /// the command timeout (30 s by default) and failed every time, so the job could not be deleted and retention,
    /// taking the oldest first, stuck on it for good. Interrupted, it leaves the jobs with part of their lines.
    /// </summary>
    private async Task DeleteLinesAsync(string[] jobIds, CancellationToken cancellationToken)
    {
        while (true)
        {
            await using var delete = Command("""
                DELETE FROM log_lines WHERE ctid = ANY (ARRAY(
                    SELECT ctid FROM log_lines WHERE job_id = ANY (@jobs) LIMIT @count))
                """)
                .With("jobs", jobIds, NpgsqlDbType.Array | NpgsqlDbType.Text)
                .With("count", LinesPerDelete);
            if (await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) < LinesPerDelete)
            {
                return;
            }
        }
    }

    /// <summary>The last lines, newest first: the primary key's index scanned backwards (no sort of the job's lines).</summary>
    internal const string LastLinesQuery =
        "SELECT seq, ts, stream, line, ended FROM log_lines WHERE job_id = @job ORDER BY seq DESC LIMIT @limit";

    public async Task<IReadOnlyList<LogLine>> ReadLogsAsync(string jobId, long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        await using var read = Command("SELECT seq, ts, stream, line, ended FROM log_lines WHERE job_id = @job AND seq > @after ORDER BY seq LIMIT @limit")
            .With("job", jobId)
            .With("after", afterSeq)
            .With("limit", Math.Max(0, limit));
        return await ReadLinesAsync(read, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<LogLine>> ReadLastLogsAsync(string jobId, int count, CancellationToken cancellationToken = default)
    {
        await using var read = Command(LastLinesQuery)
            .With("job", jobId)
            .With("limit", Math.Max(0, count));
        var newestFirst = await ReadLinesAsync(read, cancellationToken).ConfigureAwait(false);
        return [.. newestFirst.Reverse()];
    }

    private static async Task<IReadOnlyList<LogLine>> ReadLinesAsync(NpgsqlCommand read, CancellationToken cancellationToken) =>
        await read.ReadAllAsync(
            r => new LogLine(
                r.GetInt64(0),
                r.GetFieldValue<DateTimeOffset>(1),
                r.GetString(2) == "stderr" ? LogStream.Stderr : LogStream.Stdout,
                Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(3))) { Ended = r.GetBoolean(4) },
            cancellationToken).ConfigureAwait(false);
}
