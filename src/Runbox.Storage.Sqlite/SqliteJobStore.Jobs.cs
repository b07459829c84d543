using System.Text;
using Microsoft.Data.Sqlite;
using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Sqlite;

public sealed partial class SqliteJobStore
{
    private const int MaxPageSize = 1000;

    public async Task InsertJobAsync(JobRecord job, CancellationToken cancellationToken = default)
    {
        await WriteAsync(async (connection, transaction) =>
        {
            await using var insert = connection.Command(transaction, JobRows.Insert).BindInsert(job);
            return await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        if (job.Status == JobStatus.Queued)
        {
            signals.PulseWork();
        }
    }

    public Task<JobRecord?> GetJobAsync(string id, CancellationToken cancellationToken = default) =>
        ReadAsync(connection => GetJobAsync(connection, null, id, cancellationToken), cancellationToken);

    public Task<JobRecord?> GetJobAsync(string id, bool withOutput, bool withSubmission, CancellationToken cancellationToken = default) =>
        ReadAsync(connection => GetJobAsync(connection, null, id, cancellationToken, withOutput, withSubmission), cancellationToken);

    public Task<JobPage> ListJobsAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        var limit = Math.Clamp(query.Limit, 1, MaxPageSize);
        var sql = new StringBuilder($"SELECT {JobRows.ColumnsFor(query.WithOutput, query.WithSubmission)} FROM jobs WHERE 1 = 1");
        var parameters = new List<(string, object?)>();
        if (query.Owner is not null)
        {
            sql.Append(" AND owner = $owner");
            parameters.Add(("$owner", query.Owner));
        }
        if (query.Status is { } status)
        {
            sql.Append(" AND status = $status");
            parameters.Add(("$status", status.ToWire()));
        }
        if (query.Runtime is not null)
        {
            sql.Append(" AND runtime = $runtime");
            parameters.Add(("$runtime", query.Runtime));
        }
        if (!string.IsNullOrEmpty(query.Text))
        {
            sql.Append(" AND (instr(id, $text) > 0 OR instr(coalesce(json_extract(spec, '$.script'), ''), $text) > 0)");
            parameters.Add(("$text", query.Text));
        }
        if (query.Cursor is not null)
        {
            var cursor = JobCursor.Decode(query.Cursor);
            sql.Append(" AND (created_at < $cursor_at OR (created_at = $cursor_at AND id < $cursor_id))");
            parameters.Add(("$cursor_at", StoreTime.ToMicros(cursor.CreatedAt)));
            parameters.Add(("$cursor_id", cursor.Id));
        }
        // One row more than asked tells whether another page exists.
        sql.Append(" ORDER BY created_at DESC, id DESC LIMIT $limit");
        parameters.Add(("$limit", limit + 1));

        return ReadAsync(async connection =>
        {
            await using var command = connection.Command(null, sql.ToString());
            foreach (var (name, value) in parameters)
            {
                command.With(name, value);
            }
            var jobs = await ReadJobsAsync(command, cancellationToken, query.WithOutput, query.WithSubmission).ConfigureAwait(false);
            if (jobs.Count <= limit)
            {
                return new JobPage(jobs, null);
            }
            jobs.RemoveAt(limit);
            var last = jobs[^1];
            return new JobPage(jobs, new JobCursor(last.CreatedAt, last.Id).Encode());
        }, cancellationToken);
    }

    public async Task<JobRecord?> RequestCancelAsync(string id, CancellationToken cancellationToken = default) =>
        (await RequestCancelTellingEndAsync(id, cancellationToken).ConfigureAwait(false)).Job;

    public async Task<(JobRecord? Job, bool Ended)> RequestCancelTellingEndAsync(string id, CancellationToken cancellationToken = default)
    {
        var (job, ended) = await WriteAsync(async (connection, transaction) =>
        {
            var now = StoreTime.ToMicros(time.GetUtcNow());
            await using var end = connection.Command(transaction,
                "UPDATE jobs SET status = 'cancelled', finished_at = $now, cancel_requested = 1 WHERE id = $id AND status = 'queued'")
                .With("$id", id).With("$now", now);
            var ended = await end.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
            await using var flag = connection.Command(transaction, "UPDATE jobs SET cancel_requested = 1 WHERE id = $id AND status = 'running'")
                .With("$id", id);
            await flag.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return (await GetJobAsync(connection, transaction, id, cancellationToken, withOutput: false, withSubmission: false).ConfigureAwait(false), ended);
        }, cancellationToken).ConfigureAwait(false);
        if (job is not null)
        {
            signals.PulseJob(id);
        }
        return (job, ended);
    }

    public async Task<bool> DeleteJobAsync(string id, CancellationToken cancellationToken = default)
    {
        var deleted = await WriteAsync(async (connection, transaction) =>
        {
            await using var delete = connection.Command(transaction, """
                DELETE FROM log_lines WHERE job_id = $id;
                DELETE FROM jobs WHERE id = $id;
                """).With("$id", id);
            return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }, cancellationToken).ConfigureAwait(false);
        // Files go after the rows: a crash in between leaves orphan files, never a job pointing at missing ones.
        artifacts.DeleteJob(id);
        signals.PulseJob(id);
        return deleted;
    }

    public async Task<IReadOnlyList<string>> DeleteEndedJobsAsync(DateTimeOffset finishedBefore, int limit, CancellationToken cancellationToken = default)
    {
        var ids = await WriteAsync<IReadOnlyList<string>>(async (connection, transaction) =>
        {
            var found = new List<string>();
            // A runtime's smoke test stays while the runtime points at it: a failed runtime's one is its diagnosis.
            await using (var select = connection.Command(transaction, """
                SELECT id FROM jobs
                WHERE finished_at IS NOT NULL AND finished_at < $before AND status NOT IN ('queued', 'running')
                    AND NOT EXISTS (SELECT 1 FROM runtimes WHERE json_extract(runtimes.document, '$.smoke_test_job_id') = jobs.id)
                ORDER BY finished_at LIMIT $limit
                """).With("$before", StoreTime.ToMicros(finishedBefore)).With("$limit", Math.Max(limit, 0)))
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    found.Add(reader.GetString(0));
                }
            }
            await using var delete = connection.Command(transaction, """
                DELETE FROM log_lines WHERE job_id = $id;
                DELETE FROM jobs WHERE id = $id;
                """);
            var id = delete.CreateParameter();
            id.ParameterName = "$id";
            delete.Parameters.Add(id);
            foreach (var each in found)
            {
                id.Value = each;
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return found;
        }, cancellationToken).ConfigureAwait(false);
        foreach (var id in ids)
        {
            // As in DeleteJobAsync: files after the rows.
            artifacts.DeleteJob(id);
            signals.PulseJob(id);
        }
        return ids;
    }

    public Task<IReadOnlyDictionary<JobStatus, long>> CountJobsAsync(CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyDictionary<JobStatus, long>>(async connection =>
        {
            var counts = Enum.GetValues<JobStatus>().ToDictionary(status => status, _ => 0L);
            await using var command = connection.Command(null, "SELECT status, count(*) FROM jobs GROUP BY status");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (JobStatusExtensions.TryParseWire(reader.GetString(0), out var status))
                {
                    counts[status] = reader.GetInt64(1);
                }
            }
            return counts;
        }, cancellationToken);

    /// <summary>Whether the job is there, reading none of its row (an artifact's save asks twice).</summary>
    private Task<bool> JobExistsAsync(string id, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using var command = connection.Command(null, "SELECT 1 FROM jobs WHERE id = $id").With("$id", id);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
        }, cancellationToken);

    private static async Task<JobRecord?> GetJobAsync(
        SqliteConnection connection, SqliteTransaction? transaction, string id, CancellationToken cancellationToken, bool withOutput = true, bool withSubmission = true)
    {
        await using var command = connection.Command(transaction, $"SELECT {JobRows.ColumnsFor(withOutput, withSubmission)} FROM jobs WHERE id = $id").With("$id", id);
        var jobs = await ReadJobsAsync(command, cancellationToken, withOutput, withSubmission).ConfigureAwait(false);
        return jobs.Count == 0 ? null : jobs[0];
    }

    private static async Task<List<JobRecord>> ReadJobsAsync(SqliteCommand command, CancellationToken cancellationToken, bool withOutput = true, bool withSubmission = true)
    {
        var jobs = new List<JobRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(JobRows.Read(reader, withOutput, withSubmission));
        }
        return jobs;
    }
}
