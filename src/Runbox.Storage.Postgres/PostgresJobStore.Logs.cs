using System.Text;
using NpgsqlTypes;
using Runbox.Execution.Jobs;

namespace Runbox.Storage.Postgres;

public sealed partial class PostgresJobStore
{
    public async Task AppendLogsAsync(string jobId, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken = default)
    {
        if (lines.Count == 0)
        {
            return;
        }
        // One statement for the batch: the lines, and the NOTIFY, become visible together. A worker retrying a batch
        // after a failed acknowledgement sends lines again: ON CONFLICT drops them. A deleted job takes no lines: its
        // row is locked once for the batch (migration 7), so a delete either waits for the batch, whose lines its
        // trigger then deletes, or comes first and the batch finds no job.
        await using var append = Command($"""
            WITH appended AS (
                INSERT INTO log_lines (job_id, seq, ts, stream, line, ended)
                SELECT job.id, batch.seq, batch.ts, batch.stream, batch.line, batch.ended
                FROM (SELECT id FROM jobs WHERE id = @job FOR KEY SHARE) AS job,
                    unnest(@seqs, @timestamps, @streams, @lines, @ended) AS batch (seq, ts, stream, line, ended)
                ON CONFLICT (job_id, seq) DO NOTHING
                RETURNING job_id)
            SELECT {NotifyChannels.NotifyJob} FROM (SELECT DISTINCT job_id AS id FROM appended) AS changed
            """)
            .With("job", jobId)
            .With("seqs", lines.Select(line => line.Seq).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bigint)
            .With("timestamps", lines.Select(line => line.Timestamp.ToUniversalTime()).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.TimestampTz)
            .With("streams", lines.Select(line => line.StreamName).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)
            .With("lines", lines.Select(line => Encoding.UTF8.GetBytes(line.Text)).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bytea)
            .With("ended", lines.Select(line => line.Ended).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Boolean);
        await append.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        signals.PulseJob(jobId);
    }

    public async Task<IReadOnlyList<LogLine>> ReadLogsAsync(string jobId, long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        await using var read = Command("SELECT seq, ts, stream, line, ended FROM log_lines WHERE job_id = @job AND seq > @after ORDER BY seq LIMIT @limit")
            .With("job", jobId)
            .With("after", afterSeq)
            .With("limit", Math.Max(0, limit));
        return await read.ReadAllAsync(
            r => new LogLine(
                r.GetInt64(0),
                r.GetFieldValue<DateTimeOffset>(1),
                r.GetString(2) == "stderr" ? LogStream.Stderr : LogStream.Stdout,
                Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(3))) { Ended = r.GetBoolean(4) },
            cancellationToken).ConfigureAwait(false);
    }
}
