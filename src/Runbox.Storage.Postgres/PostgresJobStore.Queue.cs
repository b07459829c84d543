using Npgsql;
using NpgsqlTypes;
using Runbox.Execution.Jobs;
using Runbox.Storage.Claims;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Postgres;

public sealed partial class PostgresJobStore : ILeaseStore
{
    /// <summary>Every write a claim makes is fenced on this: the job is running under this lease token and attempt.</summary>
    private const string Fence = "id = @id AND status = 'running' AND lease_token = @token AND attempt = @attempt";

    public async Task<IJobClaim?> ClaimAsync(string worker, TimeSpan lease, IReadOnlyCollection<string>? runtimes = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        var token = Guid.NewGuid().ToString("N");
        var now = time.GetUtcNow();
        // SKIP LOCKED: concurrent claimers each lock a different row instead of queueing behind the first.
        await using var claim = Command($"""
            WITH claimed AS (
                UPDATE jobs SET status = 'running', attempt = attempt + 1, worker = @worker, started_at = @now,
                    lease_token = @token, lease_expires_at = @expires
                WHERE id = (
                    SELECT id FROM jobs
                    WHERE status = 'queued' AND (@runtimes::text[] IS NULL OR runtime = ANY (@runtimes))
                    ORDER BY created_at, id
                    FOR UPDATE SKIP LOCKED
                    LIMIT 1)
                RETURNING {JobRows.Columns})
            SELECT {JobRows.Columns}, {NotifyChannels.NotifyJob} FROM claimed
            """)
            .With("worker", worker)
            .WithTime("now", now)
            .With("token", token)
            .WithTime("expires", now + lease)
            .With("runtimes", runtimes?.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text);
        var jobs = await claim.ReadAllAsync(JobRows.Read, cancellationToken).ConfigureAwait(false);
        if (jobs.Count == 0)
        {
            return null;
        }
        var claimed = new LeasedJobClaim(this, jobs[0], token, lease);
        if (jobs[0].Attempt > 1)
        {
            try
            {
                await ClearLostAttemptAsync(jobs[0].Id, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Not cleared, not started: the job goes back to the queue (disposing releases the claim).
                await claimed.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        signals.PulseJob(jobs[0].Id);
        return claimed;
    }

    /// <summary>
    /// A run lost with its worker left lines numbered from 1, as the new run's will be, and they would be kept in place
    /// of the new run's (a line is stored once per seq, ON CONFLICT DO NOTHING); and artifacts the new run may not make.
    /// The new run starts clean.
    /// </summary>
    private async Task ClearLostAttemptAsync(string id, CancellationToken cancellationToken)
    {
        await DeleteLinesAsync([id], cancellationToken).ConfigureAwait(false);
        // No NOTIFY of its own: the claim's already told every node the job changed.
        await using var clear = Command("DELETE FROM artifacts WHERE job_id = @id").With("id", id);
        await clear.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> RescueExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        // SKIP LOCKED: a row a worker is completing right now is left for the next rescue pass.
        return await RescueAsync(
            "SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < @now FOR UPDATE SKIP LOCKED",
            command => command, now, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Re-queues (attempts left) or ends as "worker lost" the running jobs that <paramref name="lostJobs"/> selects
    /// (a <c>SELECT id ... FOR UPDATE</c>), notifies other nodes and wakes local waiters. Returns the ids changed.
    /// </summary>
    private async Task<IReadOnlyList<string>> RescueAsync(string lostJobs, Func<NpgsqlCommand, NpgsqlCommand> bind, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var rescue = bind(Command($"""
            WITH lost AS ({lostJobs}),
            requeued AS (
                UPDATE jobs SET status = 'queued', worker = NULL, started_at = NULL, lease_token = NULL, lease_expires_at = NULL
                FROM lost WHERE jobs.id = lost.id AND jobs.attempt < jobs.max_attempts
                RETURNING jobs.id, true AS again),
            ended AS (
                UPDATE jobs SET status = 'error', error = 'worker lost', finished_at = @now, lease_token = NULL, lease_expires_at = NULL
                FROM lost WHERE jobs.id = lost.id AND jobs.attempt >= jobs.max_attempts
                RETURNING jobs.id, false AS again),
            changed AS (SELECT * FROM requeued UNION ALL SELECT * FROM ended)
            SELECT id, again, {NotifyChannels.NotifyJob}, CASE WHEN again THEN {NotifyChannels.NotifyWork} END FROM changed
            """).WithTime("now", now));
        var changed = await rescue.ReadAllAsync(r => (Id: r.GetString(0), Again: r.GetBoolean(1)), cancellationToken).ConfigureAwait(false);
        if (changed.Any(job => job.Again))
        {
            signals.PulseWork();
        }
        foreach (var job in changed)
        {
            signals.PulseJob(job.Id);
        }
        return changed.Select(job => job.Id).ToList();
    }

    public async Task<bool> RenewAsync(string id, string token, int attempt, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var renew = Command($"UPDATE jobs SET lease_expires_at = @expires WHERE {Fence}")
            .WithTime("expires", time.GetUtcNow() + lease)
            .WithFence(id, token, attempt);
        return await renew.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> IsCancelRequestedAsync(string id, CancellationToken cancellationToken)
    {
        await using var read = Command("SELECT cancel_requested FROM jobs WHERE id = @id").With("id", id);
        // A deleted job counts as cancelled: its worker should stop.
        return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not bool flag || flag;
    }

    public async Task<bool> CompleteAsync(string id, string token, int attempt, JobOutcome outcome, CancellationToken cancellationToken)
    {
        if (!outcome.Status.IsTerminal())
        {
            throw new ArgumentException($"A job cannot complete as {outcome.Status.ToWire()}.", nameof(outcome));
        }
        var finishedAt = outcome.FinishedAt == default ? time.GetUtcNow() : outcome.FinishedAt;
        await using var complete = Command($"""
            WITH completed AS (
                UPDATE jobs SET status = @status, finished_at = @finished_at, lease_token = NULL, lease_expires_at = NULL,
                    {JobRows.OutcomeAssignments}
                WHERE {Fence}
                RETURNING id)
            SELECT id, {NotifyChannels.NotifyJob} FROM completed
            """)
            .With("status", outcome.Status.ToWire())
            .WithTime("finished_at", finishedAt)
            .BindOutcome(outcome)
            .WithFence(id, token, attempt);
        var completed = await complete.ReadAllAsync(_ => true, cancellationToken).ConfigureAwait(false);
        signals.PulseJob(id);
        return completed.Count == 1;
    }

    public async Task ReleaseAsync(string id, string token, int attempt, CancellationToken cancellationToken)
    {
        // The run never started, so it does not count as an attempt.
        await using var release = Command($"""
            WITH released AS (
                UPDATE jobs SET status = 'queued', attempt = attempt - 1, worker = NULL, started_at = NULL,
                    lease_token = NULL, lease_expires_at = NULL
                WHERE {Fence}
                RETURNING id)
            SELECT id, {NotifyChannels.NotifyJob}, {NotifyChannels.NotifyWork} FROM released
            """).WithFence(id, token, attempt);
        var released = await release.ReadAllAsync(_ => true, cancellationToken).ConfigureAwait(false);
        if (released.Count > 0)
        {
            signals.PulseWork();
            signals.PulseJob(id);
        }
    }
}

internal static class FenceParameters
{
    public static Npgsql.NpgsqlCommand WithFence(this Npgsql.NpgsqlCommand command, string id, string token, int attempt) =>
        command.With("id", id).With("token", token).With("attempt", attempt);
}
