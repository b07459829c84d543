using Npgsql;
using Runbox.Storage.Notifications;
using Runbox.Storage.Runtimes;

namespace Runbox.Storage.Postgres;

/// <summary>
/// The store shared by many nodes: jobs, log lines, artifacts and keys in PostgreSQL; workers claim with
/// <c>FOR UPDATE SKIP LOCKED</c>; writes NOTIFY, and a dedicated LISTEN connection wakes local waiters, with polling
/// behind it while that connection is down.
/// </summary>
public sealed partial class PostgresJobStore : IJobStore, IRuntimeStore
{
    /// <summary>Artifacts live in a bytea column, read whole into memory: larger ones are refused.</summary>
    public const long DefaultMaxArtifactBytes = 64L << 20;

    /// <summary>How long a wait may last while the LISTEN connection is down.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);

    private readonly NpgsqlDataSource dataSource;
    private readonly NpgsqlDataSource listenerSource;
    private readonly PostgresListener listener;
    private readonly ChangeSignals signals = new();
    private readonly TimeProvider time;
    private readonly long maxArtifactBytes;
    private readonly TimeSpan pollInterval;

    public PostgresJobStore(
        string connectionString,
        TimeProvider? timeProvider = null,
        long maxArtifactBytes = DefaultMaxArtifactBytes,
        TimeSpan? pollInterval = null)
    {
        time = timeProvider ?? TimeProvider.System;
        this.maxArtifactBytes = maxArtifactBytes;
        this.pollInterval = pollInterval ?? DefaultPollInterval;
        dataSource = NpgsqlDataSource.Create(PostgresConnectionDefaults.Apply(connectionString));
        var listenerSettings = new NpgsqlConnectionStringBuilder(connectionString)
        {
            // Its own name so operators (and tests) can tell it in pg_stat_activity; never pooled, it lives for good.
            ApplicationName = ListenerApplicationName(connectionString),
            Pooling = false,
            KeepAlive = 30,
        };
        listenerSource = NpgsqlDataSource.Create(listenerSettings.ConnectionString);
        listener = new PostgresListener(listenerSource, signals);
    }

    /// <summary>Whether the LISTEN connection is up; while it is not, waits return within the poll interval.</summary>
    public bool IsListening => listener.IsListening;

    /// <summary>How many times the LISTEN connection was opened (more than one after reconnects).</summary>
    public int ListenerConnections => listener.Connections;

    public static string ListenerApplicationName(string connectionString) =>
        (new NpgsqlConnectionStringBuilder(connectionString).ApplicationName ?? "runbox") + " listener";

    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // Held to the end of the transaction: a second node starting now waits here, then finds nothing to do.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", PostgresMigrations.LockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using (var create = new NpgsqlCommand(
            "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL)",
            connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        // Applied by set, not by "above the highest": a version numbered ahead of one still missing (built in parallel)
        // leaves a gap, and the missing one is applied when a build that knows it starts.
        var applied = new HashSet<int>();
        await using (var read = new NpgsqlCommand("SELECT version FROM schema_version", connection, transaction))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(reader.GetInt32(0));
            }
        }
        var known = PostgresMigrations.Known();
        if (applied.FirstOrDefault(version => known.All(m => m.Version != version)) is var unknown and > 0)
        {
            throw new StoreVersionException(
                $"The database has schema version {unknown}, which this Runbox does not know (it knows up to {known[^1].Version}).");
        }
        foreach (var (version, sql) in known.Where(m => !applied.Contains(m.Version)))
        {
            await using var migrate = new NpgsqlCommand(sql, connection, transaction);
            await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using var record = new NpgsqlCommand("INSERT INTO schema_version (version, applied_at) VALUES (@v, now())", connection, transaction);
            record.Parameters.AddWithValue("v", version);
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT count(*) FROM schema_version");
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    /// <summary>The database server's clock (<c>clock_timestamp()</c>), which every node sharing it reads alike.</summary>
    public async Task<DateTimeOffset> ReadClockAsync(CancellationToken cancellationToken = default)
    {
        await using var read = Command("SELECT clock_timestamp()");
        return (await read.ReadAllAsync(r => r.GetFieldValue<DateTimeOffset>(0), cancellationToken).ConfigureAwait(false))[0];
    }

    public Task WaitForWorkAsync(TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        listener.EnsureStarted();
        return signals.WaitForWorkAsync(Bounded(maxWait), cancellationToken);
    }

    public Task WaitForJobChangeAsync(string jobId, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        listener.EnsureStarted();
        return signals.WaitForJobAsync(jobId, Bounded(maxWait), cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await listener.DisposeAsync().ConfigureAwait(false);
        signals.PulseAll();
        await listenerSource.DisposeAsync().ConfigureAwait(false);
        await dataSource.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>With no LISTEN connection a notification cannot arrive: poll instead of sleeping the whole wait.</summary>
    private TimeSpan Bounded(TimeSpan maxWait) =>
        listener.IsListening || (maxWait != Timeout.InfiniteTimeSpan && maxWait <= pollInterval) ? maxWait : pollInterval;

    private NpgsqlCommand Command(string sql) => dataSource.CreateCommand(sql);
}
