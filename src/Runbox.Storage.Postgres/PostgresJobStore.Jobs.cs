using System.Text;
using NpgsqlTypes;
using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Postgres;

public sealed partial class PostgresJobStore
{
    private const int MaxPageSize = 1000;

    public async Task InsertJobAsync(JobRecord job, CancellationToken cancellationToken = default)
    {
        // One statement, one transaction: the NOTIFY is delivered at commit, when the row is visible.
        await using var insert = Command($"""
            WITH inserted AS ({JobRows.Insert} RETURNING id, status)
            SELECT {NotifyChannels.NotifyJob}, CASE WHEN status = 'queued' THEN {NotifyChannels.NotifyWork} END FROM inserted
            """).BindInsert(job);
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (job.Status == JobStatus.Queued)
        {
            signals.PulseWork();
        }
    }

    public Task<JobRecord?> GetJobAsync(string id, CancellationToken cancellationToken = default) =>
        GetJobAsync(id, withOutput: true, withSubmission: true, cancellationToken);

    public async Task<JobRecord?> GetJobAsync(string id, bool withOutput, bool withSubmission, CancellationToken cancellationToken = default)
    {
        await using var command = Command($"SELECT {JobRows.ColumnsFor(withOutput, withSubmission)} FROM jobs WHERE id = @id").With("id", id);
        var jobs = await command.ReadAllAsync(r => JobRows.Read(r, withOutput, withSubmission), cancellationToken).ConfigureAwait(false);
        return jobs.Count == 0 ? null : jobs[0];
    }

    public async Task<JobPage> ListJobsAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        var limit = Math.Clamp(query.Limit, 1, MaxPageSize);
        var sql = new StringBuilder($"SELECT {JobRows.ColumnsFor(query.WithOutput, query.WithSubmission)} FROM jobs WHERE true");
        await using var command = Command("");
        if (query.Owner is not null)
        {
            sql.Append(" AND owner = @owner");
            command.With("owner", query.Owner);
        }
        if (query.Status is { } status)
        {
            sql.Append(" AND status = @status");
            command.With("status", status.ToWire());
        }
        if (query.Runtime is not null)
        {
            sql.Append(" AND runtime = @runtime");
            command.With("runtime", query.Runtime);
        }
        if (!string.IsNullOrEmpty(query.Text))
        {
            sql.Append(" AND (strpos(id, @text) > 0 OR strpos(script_text, @text) > 0)");
            command.With("text", query.Text.Replace("\0", "", StringComparison.Ordinal), NpgsqlDbType.Text);
        }
        if (query.Cursor is not null)
        {
            var cursor = JobCursor.Decode(query.Cursor);
            sql.Append(" AND (created_at, id) < (@cursor_at, @cursor_id)");
            command.WithTime("cursor_at", cursor.CreatedAt).With("cursor_id", cursor.Id, NpgsqlDbType.Text);
        }
        // One row more than asked tells whether another page exists.
        sql.Append(" ORDER BY created_at DESC, id DESC LIMIT @limit");
        command.With("limit", limit + 1);
        command.CommandText = sql.ToString();

        var jobs = await command.ReadAllAsync(r => JobRows.Read(r, query.WithOutput, query.WithSubmission), cancellationToken).ConfigureAwait(false);
        if (jobs.Count <= limit)
        {
            return new JobPage(jobs, null);
        }
        jobs.RemoveAt(limit);
        var last = jobs[^1];
        return new JobPage(jobs, new JobCursor(last.CreatedAt, last.Id).Encode());
    }

    public async Task<JobRecord?> RequestCancelAsync(string id, CancellationToken cancellationToken = default) =>
        (await RequestCancelTellingEndAsync(id, cancellationToken).ConfigureAwait(false)).Job;

    public async Task<(JobRecord? Job, bool Ended)> RequestCancelTellingEndAsync(string id, CancellationToken cancellationToken = default)
    {
        // Row locks order this against a claim: whichever commits first, the other sees its result. A row changed to
        // cancelled was queued (an ended job is not matched), so this call ended it; of two that cross, one does.
        await using var cancel = Command($"""
            WITH changed AS (
                UPDATE jobs SET
                    status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
                    finished_at = CASE WHEN status = 'queued' THEN @now ELSE finished_at END,
                    cancel_requested = true
                WHERE id = @id AND status IN ('queued', 'running')
                RETURNING id, status)
            SELECT {NotifyChannels.NotifyJob}, status = 'cancelled' FROM changed
            """).With("id", id).WithTime("now", time.GetUtcNow());
        var ended = false;
        await using (var reader = await cancel.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ended = reader.GetBoolean(1);
            }
        }
        signals.PulseJob(id);
        return (await GetJobAsync(id, withOutput: false, withSubmission: false, cancellationToken).ConfigureAwait(false), ended);
    }

    public async Task<bool> DeleteJobAsync(string id, CancellationToken cancellationToken = default)
    {
        // Lines first, in pieces; what a running job adds meanwhile, and the artifacts, go with the row (the
        // jobs_delete_lines trigger, ON DELETE CASCADE).
        await DeleteLinesAsync([id], cancellationToken).ConfigureAwait(false);
        await using var delete = Command($"""
            WITH deleted AS (DELETE FROM jobs WHERE id = @id RETURNING id)
            SELECT id, {NotifyChannels.NotifyJob} FROM deleted
            """).With("id", id);
        var deleted = await delete.ReadAllAsync(_ => true, cancellationToken).ConfigureAwait(false);
        signals.PulseJob(id);
        return deleted.Count > 0;
    }

    public async Task<IReadOnlyList<string>> DeleteEndedJobsAsync(DateTimeOffset finishedBefore, int limit, CancellationToken cancellationToken = default)
    {
        // A runtime's smoke test stays while the runtime points at it: a failed runtime's one is its diagnosis.
        const string ended = """
            finished_at IS NOT NULL AND finished_at < @before AND status NOT IN ('queued', 'running')
            AND NOT EXISTS (SELECT 1 FROM runtimes WHERE runtimes.document->>'smoke_test_job_id' = jobs.id)
            """;
        await using var select = Command($"SELECT id FROM jobs WHERE {ended} ORDER BY finished_at LIMIT @limit")
            .WithTime("before", finishedBefore).With("limit", Math.Max(limit, 0));
        var chosen = (await select.ReadAllAsync(reader => reader.GetString(0), cancellationToken).ConfigureAwait(false)).ToArray();
        if (chosen.Length == 0)
        {
            return [];
        }
        // Their lines first, in pieces: a node sweeping the same jobs at once deletes the same lines, harmlessly.
        await DeleteLinesAsync(chosen, cancellationToken).ConfigureAwait(false);
        // SKIP LOCKED: two nodes sweeping at once take different rows rather than waiting on each other.
        await using var delete = Command($"""
            WITH deleted AS (
                DELETE FROM jobs WHERE id IN (
                    SELECT id FROM jobs
                    WHERE id = ANY (@chosen) AND {ended}
                    ORDER BY finished_at FOR UPDATE SKIP LOCKED)
                RETURNING id)
            SELECT id, {NotifyChannels.NotifyJob} FROM deleted
            """).WithTime("before", finishedBefore).With("chosen", chosen, NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text);
        var deleted = (await delete.ReadAllAsync(reader => reader.GetString(0), cancellationToken).ConfigureAwait(false)).ToHashSet();
        foreach (var id in deleted)
        {
            signals.PulseJob(id);
        }
        // Oldest first, as chosen: RETURNING follows whatever order the plan deleted in.
        return chosen.Where(deleted.Contains).ToList();
    }

    public async Task<IReadOnlyDictionary<JobStatus, long>> CountJobsAsync(CancellationToken cancellationToken = default)
    {
        var counts = Enum.GetValues<JobStatus>().ToDictionary(status => status, _ => 0L);
        await using var command = Command("SELECT status, count(*) FROM jobs GROUP BY status");
        foreach (var (wire, count) in await command.ReadAllAsync(r => (r.GetString(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false))
        {
            if (JobStatusExtensions.TryParseWire(wire, out var status))
            {
                counts[status] = count;
            }
        }
        return counts;
    }
}
