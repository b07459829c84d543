using System.Text.Json;
using Microsoft.Data.Sqlite;
using Runbox.Execution.Jobs;
using Runbox.Storage.Claims;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Sqlite;

public sealed partial class SqliteJobStore : ILeaseStore
{
    /// <summary>Every write a claim makes is fenced on this: the job is running under this lease token and attempt.</summary>
    private const string Fence = "id = $id AND status = 'running' AND lease_token = $token AND attempt = $attempt";

    public async Task<IJobClaim?> ClaimAsync(string worker, TimeSpan lease, IReadOnlyCollection<string>? runtimes = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        var token = Guid.NewGuid().ToString("N");
        var job = await WriteAsync(async (connection, transaction) =>
        {
            var now = time.GetUtcNow();
            await using var claim = connection.Command(transaction, $"""
                UPDATE jobs SET status = 'running', attempt = attempt + 1, worker = $worker, started_at = $now,
                    lease_token = $token, lease_expires_at = $expires
                WHERE id = (
                    SELECT id FROM jobs
                    WHERE status = 'queued' AND ($runtimes IS NULL OR runtime IN (SELECT value FROM json_each($runtimes)))
                    ORDER BY created_at, id LIMIT 1)
                RETURNING {JobRows.Columns}
                """)
                .With("$worker", worker)
                .With("$now", StoreTime.ToMicros(now))
                .With("$token", token)
                .With("$expires", StoreTime.ToMicros(now + lease))
                .With("$runtimes", runtimes is null ? null : JsonSerializer.Serialize(runtimes.ToArray(), QueueJson.Default.StringArray));
            var jobs = await ReadJobsAsync(claim, cancellationToken).ConfigureAwait(false);
            if (jobs.Count > 0 && jobs[0].Attempt > 1)
            {
                // A run lost with its worker left lines numbered from 1, as the new run's will be: they would be
                // kept in place of the new run's (a line is stored once per seq). The new run starts clean.
                await using var clear = connection.Command(transaction, "DELETE FROM log_lines WHERE job_id = $id").With("$id", jobs[0].Id);
                await clear.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return jobs.Count == 0 ? null : jobs[0];
        }, cancellationToken).ConfigureAwait(false);
        if (job is null)
        {
            return null;
        }
        if (job.Attempt > 1)
        {
            // And its artifacts: what the lost run saved before its worker died is not the new run's.
            artifacts.DeleteJob(job.Id);
        }
        signals.PulseJob(job.Id);
        return new LeasedJobClaim(this, job, token, lease);
    }

    public async Task<IReadOnlyList<string>> RescueExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var (requeued, ended) = await WriteAsync(async (connection, transaction) =>
        {
            var at = StoreTime.ToMicros(now);
            await using var requeue = connection.Command(transaction, """
                UPDATE jobs SET status = 'queued', worker = NULL, started_at = NULL, lease_token = NULL, lease_expires_at = NULL
                WHERE status = 'running' AND lease_expires_at < $now AND attempt < max_attempts
                RETURNING id
                """).With("$now", at);
            var requeued = await ReadIdsAsync(requeue, cancellationToken).ConfigureAwait(false);
            await using var end = connection.Command(transaction, """
                UPDATE jobs SET status = 'error', error = 'worker lost', finished_at = $now, lease_token = NULL, lease_expires_at = NULL
                WHERE status = 'running' AND lease_expires_at < $now
                RETURNING id
                """).With("$now", at);
            var ended = await ReadIdsAsync(end, cancellationToken).ConfigureAwait(false);
            return (requeued, ended);
        }, cancellationToken).ConfigureAwait(false);
        if (requeued.Count > 0)
        {
            signals.PulseWork();
        }
        foreach (var id in requeued.Concat(ended))
        {
            signals.PulseJob(id);
        }
        return [.. requeued, .. ended];
    }

    public async Task<bool> RenewAsync(string id, string token, int attempt, TimeSpan lease, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            await using var renew = connection.Command(transaction, $"UPDATE jobs SET lease_expires_at = $expires WHERE {Fence}")
                .With("$expires", StoreTime.ToMicros(time.GetUtcNow() + lease))
                .WithFence(id, token, attempt);
            return await renew.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken).ConfigureAwait(false);

    public async Task<bool> IsCancelRequestedAsync(string id, CancellationToken cancellationToken) =>
        await ReadAsync(async connection =>
        {
            await using var read = connection.Command(null, "SELECT cancel_requested FROM jobs WHERE id = $id").With("$id", id);
            // A deleted job counts as cancelled: its worker should stop.
            return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long flag || flag != 0;
        }, cancellationToken).ConfigureAwait(false);

    public async Task<bool> CompleteAsync(string id, string token, int attempt, JobOutcome outcome, CancellationToken cancellationToken)
    {
        if (!outcome.Status.IsTerminal())
        {
            throw new ArgumentException($"A job cannot complete as {outcome.Status.ToWire()}.", nameof(outcome));
        }
        var finishedAt = outcome.FinishedAt == default ? time.GetUtcNow() : outcome.FinishedAt;
        var completed = await WriteAsync(async (connection, transaction) =>
        {
            await using var complete = connection.Command(transaction, $"""
                UPDATE jobs SET status = $status, finished_at = $finished_at, lease_token = NULL, lease_expires_at = NULL,
                    exit_code = $exit_code, signal = $signal, limit_exceeded = $limit_exceeded, stdout = $stdout, stderr = $stderr,
                    stdout_truncated = $stdout_truncated, stderr_truncated = $stderr_truncated, wall_ms = $wall_ms,
                    cpu_user_ms = $cpu_user_ms, cpu_system_ms = $cpu_system_ms, peak_memory_bytes = $peak_memory_bytes, error = $error
                WHERE {Fence}
                """)
                .With("$status", outcome.Status.ToWire())
                .With("$finished_at", StoreTime.ToMicros(finishedAt))
                .BindOutcome(outcome)
                .WithFence(id, token, attempt);
            return await complete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken).ConfigureAwait(false);
        signals.PulseJob(id);
        return completed;
    }

    public async Task ReleaseAsync(string id, string token, int attempt, CancellationToken cancellationToken)
    {
        var released = await WriteAsync(async (connection, transaction) =>
        {
            // The run never started, so it does not count as an attempt.
            await using var release = connection.Command(transaction, $"""
                UPDATE jobs SET status = 'queued', attempt = attempt - 1, worker = NULL, started_at = NULL,
                    lease_token = NULL, lease_expires_at = NULL
                WHERE {Fence}
                """).WithFence(id, token, attempt);
            return await release.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken).ConfigureAwait(false);
        if (released)
        {
            signals.PulseWork();
            signals.PulseJob(id);
        }
    }

    private static async Task<List<string>> ReadIdsAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ids.Add(reader.GetString(0));
        }
        return ids;
    }
}

internal static class FenceParameters
{
    public static SqliteCommand WithFence(this SqliteCommand command, string id, string token, int attempt) =>
        command.With("$id", id).With("$token", token).With("$attempt", attempt);
}
