using Microsoft.Data.Sqlite;
using Runbox.Storage.Artifacts;
using Runbox.Storage.Notifications;
using Runbox.Storage.Runtimes;

namespace Runbox.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite database (<c>runbox.db</c>, WAL) in a data folder, artifacts as files beside it.
/// One machine only: notifications are in-process, and writes go one at a time (SQLite has a single writer; queuing
/// them here is fairer and cheaper than spinning on SQLITE_BUSY).
/// </summary>
public sealed partial class SqliteJobStore : IJobStore, IRuntimeStore, IArtifactTempFiles
{
    public const string DatabaseFileName = "runbox.db";

    private readonly string connectionString;
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly ChangeSignals signals = new();
    private readonly ArtifactFiles artifacts;
    private readonly TimeProvider time;

    /// <summary>Artifacts larger than this are refused unless the constructor says otherwise.</summary>
    public const long DefaultMaxArtifactBytes = 1L << 30;

    public SqliteJobStore(string dataFolder, TimeProvider? timeProvider = null, long maxArtifactBytes = DefaultMaxArtifactBytes)
    {
        DataFolder = Path.GetFullPath(dataFolder);
        Directory.CreateDirectory(DataFolder);
        time = timeProvider ?? TimeProvider.System;
        artifacts = new ArtifactFiles(DataFolder, maxArtifactBytes);
        OwnerOnly.Database(Path.Combine(DataFolder, DatabaseFileName));
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(DataFolder, DatabaseFileName),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
        }.ToString();
    }

    public string DataFolder { get; }

    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            // WAL is a property of the file: readers never block the writer, and a commit is one append.
            await using (var wal = connection.Command(null, "PRAGMA journal_mode = WAL"))
            {
                await wal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            // BEGIN IMMEDIATE takes the file's write lock, so two processes starting at once migrate one after the other.
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var create = connection.Command(transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)"))
            {
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            // Applied by set, not by "above the highest": a version numbered ahead of one still missing (built in
            // parallel) leaves a gap, and the missing one is applied when a build that knows it starts.
            var applied = new HashSet<long>();
            await using (var read = connection.Command(transaction, "SELECT version FROM schema_version"))
            await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    applied.Add(reader.GetInt64(0));
                }
            }
            var known = SqliteMigrations.Known();
            if (applied.FirstOrDefault(version => known.All(m => m.Version != version)) is var unknown and > 0)
            {
                throw new StoreVersionException(
                    $"The database {DatabaseFileName} has schema version {unknown}, which this Runbox does not know (it knows up to {known[^1].Version}).");
            }
            foreach (var (version, sql) in known.Where(m => !applied.Contains(m.Version)))
            {
                await using var migrate = connection.Command(transaction, sql);
                await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await using var record = connection.Command(transaction, "INSERT INTO schema_version (version, applied_at) VALUES ($v, $at)")
                    .With("$v", version)
                    .With("$at", StoreTime.ToMicros(time.GetUtcNow()));
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            writeLock.Release();
        }
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.Command(null, "SELECT count(*) FROM schema_version");
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    public Task WaitForWorkAsync(TimeSpan maxWait, CancellationToken cancellationToken = default) =>
        signals.WaitForWorkAsync(maxWait, cancellationToken);

    public Task WaitForJobChangeAsync(string jobId, TimeSpan maxWait, CancellationToken cancellationToken = default) =>
        signals.WaitForJobAsync(jobId, maxWait, cancellationToken);

    public ValueTask DisposeAsync()
    {
        // Close the pooled handles so the folder can be moved or deleted; waiters return as on any change.
        using (var connection = new SqliteConnection(connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }
        signals.PulseAll();
        return ValueTask.CompletedTask;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // Per connection: FULL syncs the WAL on every commit, so an acknowledged write survives a killed process
            // and a power cut; busy_timeout covers other processes (backups, a second node by mistake) holding the lock.
            await using var pragmas = connection.Command(null, "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;");
            await pragmas.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<T> ReadAsync<T>(Func<SqliteConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await read(connection).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="write"/> in one transaction, one writer at a time.</summary>
    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> write, CancellationToken cancellationToken)
    {
        await writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var result = await write(connection, transaction).ConfigureAwait(false);
            await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            return result;
        }
        finally
        {
            writeLock.Release();
        }
    }
}
