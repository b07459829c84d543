using Microsoft.Data.Sqlite;
using Runbox.Execution.Jobs;

namespace Runbox.Storage.Sqlite;

public sealed partial class SqliteJobStore
{
    public Task AppendLogsAsync(string jobId, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken = default) =>
        AppendAsync(jobId, lines, "id = $id", command => command.With("$id", jobId), cancellationToken);

    public Task<bool> AppendLogsAsync(string id, string token, int attempt, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken) =>
        AppendAsync(id, lines, Fence, command => command.WithFence(id, token, attempt), cancellationToken);

    /// <summary>
    /// Appends the lines when the job's row matches <paramref name="where"/> (it exists; for a claim, the run still holds
    /// its lease), checked in the same transaction as the inserts. False, storing nothing, when it does not.
    /// </summary>
    private async Task<bool> AppendAsync(string jobId, IReadOnlyList<LogLine> lines, string where, Func<SqliteCommand, SqliteCommand> bind, CancellationToken cancellationToken)
    {
        if (lines.Count == 0)
        {
            return true;
        }
        var appended = await WriteAsync(async (connection, transaction) =>
        {
            // A deleted job takes no lines (PostgreSQL's foreign key would refuse them too), nor does a lost run's lease.
            await using (var exists = bind(connection.Command(transaction, $"SELECT 1 FROM jobs WHERE {where}")))
            {
                if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                {
                    return false;
                }
            }
            // A worker retrying a batch after a failed acknowledgement sends lines again: the key (job_id, seq) drops them.
            await using var insert = connection.Command(transaction,
                "INSERT OR IGNORE INTO log_lines (job_id, seq, ts, stream, text, ended) VALUES ($job, $seq, $ts, $stream, $text, $ended)");
            var seq = insert.CreateParameter();
            seq.ParameterName = "$seq";
            var ts = insert.CreateParameter();
            ts.ParameterName = "$ts";
            var stream = insert.CreateParameter();
            stream.ParameterName = "$stream";
            var text = insert.CreateParameter();
            text.ParameterName = "$text";
            var ended = insert.CreateParameter();
            ended.ParameterName = "$ended";
            insert.With("$job", jobId).Parameters.AddRange([seq, ts, stream, text, ended]);
            foreach (var line in lines)
            {
                seq.Value = line.Seq;
                ts.Value = StoreTime.ToMicros(line.Timestamp);
                stream.Value = line.StreamName;
                text.Value = line.Text;
                ended.Value = line.Ended ? 1 : 0;
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (appended)
        {
            signals.PulseJob(jobId);
        }
        return appended;
    }

    /// <summary>The last lines, newest first: the primary key walked backwards (no sort, no scan of the job's other lines).</summary>
    internal const string LastLinesQuery =
        "SELECT seq, ts, stream, text, ended FROM log_lines WHERE job_id = $job ORDER BY seq DESC LIMIT $limit";

    public Task<IReadOnlyList<LogLine>> ReadLogsAsync(string jobId, long afterSeq, int limit, CancellationToken cancellationToken = default) =>
        ReadLinesAsync(connection => connection.Command(null,
                "SELECT seq, ts, stream, text, ended FROM log_lines WHERE job_id = $job AND seq > $after ORDER BY seq LIMIT $limit")
                .With("$job", jobId)
                .With("$after", afterSeq)
                .With("$limit", Math.Max(0, limit)), cancellationToken);

    public async Task<IReadOnlyList<LogLine>> ReadLastLogsAsync(string jobId, int count, CancellationToken cancellationToken = default)
    {
        var newestFirst = await ReadLinesAsync(connection => connection.Command(null, LastLinesQuery)
            .With("$job", jobId)
            .With("$limit", Math.Max(0, count)), cancellationToken).ConfigureAwait(false);
        return [.. newestFirst.Reverse()];
    }

    private Task<IReadOnlyList<LogLine>> ReadLinesAsync(Func<SqliteConnection, SqliteCommand> query, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<LogLine>>(async connection =>
        {
            await using var read = query(connection);
            var lines = new List<LogLine>();
            await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                lines.Add(new LogLine(
                    reader.GetInt64(0),
                    StoreTime.FromMicros(reader.GetInt64(1)),
                    reader.GetString(2) == "stderr" ? LogStream.Stderr : LogStream.Stdout,
                    reader.GetString(3)) { Ended = reader.GetInt64(4) != 0 });
            }
            return lines;
        }, cancellationToken);
}
