using NpgsqlTypes;
using Runbox.Storage.Workers;

namespace Runbox.Storage.Postgres;

public sealed partial class PostgresJobStore
{
    public async Task<IReadOnlyList<string>> RescueNodeAsync(string node, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        var now = time.GetUtcNow();
        // A prefix compare, not LIKE: a node name may hold '%' or '_'.
        return await RescueAsync(
            "SELECT id FROM jobs WHERE status = 'running' AND (worker = @node OR left(worker, length(@node) + 1) = @node || '/') FOR UPDATE",
            command => command.With("node", node), now, cancellationToken).ConfigureAwait(false);
    }

    public async Task HeartbeatWorkerAsync(WorkerRecord worker, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(worker.Name);
        await using var upsert = Command("""
            INSERT INTO workers (name, slots, busy, runtimes, started_at, last_seen_at, instance)
            VALUES (@name, @slots, @busy, @runtimes, @started_at, @now, @instance)
            ON CONFLICT (name) DO UPDATE SET slots = excluded.slots, busy = excluded.busy, runtimes = excluded.runtimes,
                started_at = excluded.started_at, last_seen_at = excluded.last_seen_at, instance = excluded.instance
            """)
            .With("name", worker.Name)
            .With("slots", worker.Slots)
            .With("busy", worker.Busy)
            .With("runtimes", worker.Runtimes.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text)
            .WithTime("started_at", worker.StartedAt)
            .WithTime("now", time.GetUtcNow())
            .With("instance", worker.Instance);
        await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<WorkerRecord>> ListWorkersAsync(CancellationToken cancellationToken = default)
    {
        await using var list = Command("SELECT name, slots, busy, runtimes, started_at, last_seen_at, instance FROM workers ORDER BY name");
        return await list.ReadAllAsync(r => new WorkerRecord
        {
            Name = r.GetString(0),
            Slots = r.GetInt32(1),
            Busy = r.GetInt32(2),
            Runtimes = r.GetFieldValue<string[]>(3),
            StartedAt = r.GetFieldValue<DateTimeOffset>(4),
            LastSeenAt = r.GetFieldValue<DateTimeOffset>(5),
            Instance = r.GetString(6),
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> RemoveWorkerAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var remove = Command("DELETE FROM workers WHERE name = @name").With("name", name);
        return await remove.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }
}
