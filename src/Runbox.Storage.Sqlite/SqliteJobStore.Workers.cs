using System.Text.Json;
using Runbox.Storage.Workers;

namespace Runbox.Storage.Sqlite;

public sealed partial class SqliteJobStore
{
    /// <summary>The node's own claims: worker <c>node</c> or <c>node/slot</c>, compared by prefix since a name may hold '%' or '_'.</summary>
    private const string OwnClaims = "status = 'running' AND (worker = $node OR substr(worker, 1, length($node) + 1) = $node || '/')";

    public async Task<IReadOnlyList<string>> RescueNodeAsync(string node, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        var (requeued, ended) = await WriteAsync(async (connection, transaction) =>
        {
            var at = StoreTime.ToMicros(time.GetUtcNow());
            await using var requeue = connection.Command(transaction, $"""
                UPDATE jobs SET status = 'queued', worker = NULL, started_at = NULL, lease_token = NULL, lease_expires_at = NULL
                WHERE {OwnClaims} AND attempt < max_attempts
                RETURNING id
                """).With("$node", node);
            var requeued = await ReadIdsAsync(requeue, cancellationToken).ConfigureAwait(false);
            await using var end = connection.Command(transaction, $"""
                UPDATE jobs SET status = 'error', error = 'worker lost', finished_at = $now, lease_token = NULL, lease_expires_at = NULL
                WHERE {OwnClaims}
                RETURNING id
                """).With("$node", node).With("$now", at);
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

    public Task HeartbeatWorkerAsync(WorkerRecord worker, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(worker.Name);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var upsert = connection.Command(transaction, """
                INSERT INTO workers (name, slots, busy, runtimes, started_at, last_seen_at, instance)
                VALUES ($name, $slots, $busy, $runtimes, $started_at, $now, $instance)
                ON CONFLICT (name) DO UPDATE SET slots = excluded.slots, busy = excluded.busy, runtimes = excluded.runtimes,
                    started_at = excluded.started_at, last_seen_at = excluded.last_seen_at, instance = excluded.instance
                """)
                .With("$name", worker.Name)
                .With("$slots", worker.Slots)
                .With("$busy", worker.Busy)
                .With("$runtimes", JsonSerializer.Serialize(worker.Runtimes.ToArray(), QueueJson.Default.StringArray))
                .With("$started_at", StoreTime.ToMicros(worker.StartedAt))
                .With("$now", StoreTime.ToMicros(time.GetUtcNow()))
                .With("$instance", worker.Instance);
            return await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<WorkerRecord>> ListWorkersAsync(CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<WorkerRecord>>(async connection =>
        {
            await using var list = connection.Command(null, "SELECT name, slots, busy, runtimes, started_at, last_seen_at, instance FROM workers ORDER BY name");
            var workers = new List<WorkerRecord>();
            await using var reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                workers.Add(new WorkerRecord
                {
                    Name = reader.GetString(0),
                    Slots = reader.GetInt32(1),
                    Busy = reader.GetInt32(2),
                    Runtimes = JsonSerializer.Deserialize(reader.GetString(3), QueueJson.Default.StringArray) ?? [],
                    StartedAt = StoreTime.FromMicros(reader.GetInt64(4)),
                    LastSeenAt = StoreTime.FromMicros(reader.GetInt64(5)),
                    Instance = reader.GetString(6),
                });
            }
            return workers;
        }, cancellationToken);

    public Task<bool> RemoveWorkerAsync(string name, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var remove = connection.Command(transaction, "DELETE FROM workers WHERE name = $name").With("$name", name);
            return await remove.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);
}
