using Npgsql;
using NpgsqlTypes;
using Runbox.Storage.Keys;

namespace Runbox.Storage.Postgres;

public sealed partial class PostgresJobStore
{
    private const string KeyColumns = "id, name, hash, is_admin, created_at, revoked_at";

    public async Task InsertKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken = default)
    {
        await using var insert = Command($"INSERT INTO api_keys ({KeyColumns}) VALUES (@id, @name, @hash, @is_admin, @created_at, @revoked_at)")
            .With("id", key.Id)
            .With("name", key.Name)
            .With("hash", key.Hash)
            .With("is_admin", key.IsAdmin)
            .WithTime("created_at", key.CreatedAt)
            .WithTime("revoked_at", key.RevokedAt);
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> InsertFirstAdminKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // Under READ COMMITTED two nodes could both see "no admin" and both insert. This mode conflicts with itself and
        // with inserts, so a second node waits here and then sees the first one's committed key (the lock is per
        // table, so nodes on other schemas of the same database are not held up).
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE", connection, transaction))
        {
            await lockTable.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using var insert = new NpgsqlCommand(
            $"INSERT INTO api_keys ({KeyColumns}) SELECT @id, @name, @hash, true, @created_at, NULL " +
            "WHERE NOT EXISTS (SELECT 1 FROM api_keys WHERE is_admin AND revoked_at IS NULL)", connection, transaction)
            .With("id", key.Id)
            .With("name", key.Name)
            .With("hash", key.Hash)
            .WithTime("created_at", key.CreatedAt);
        var inserted = await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return inserted;
    }

    public async Task<ApiKeyRecord?> FindKeyAsync(string hash, CancellationToken cancellationToken = default)
    {
        var keys = await ReadKeysAsync($"SELECT {KeyColumns} FROM api_keys WHERE hash = @hash AND revoked_at IS NULL", hash, cancellationToken)
            .ConfigureAwait(false);
        return keys.Count == 0 ? null : keys[0];
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(CancellationToken cancellationToken = default) =>
        await ReadKeysAsync($"SELECT {KeyColumns} FROM api_keys ORDER BY created_at, id", null, cancellationToken).ConfigureAwait(false);

    public async Task<bool> RevokeKeyAsync(string id, CancellationToken cancellationToken = default)
    {
        // Revoking twice keeps the first time.
        await using var revoke = Command("UPDATE api_keys SET revoked_at = coalesce(revoked_at, @now) WHERE id = @id")
            .With("id", id)
            .WithTime("now", time.GetUtcNow());
        return await revoke.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private async Task<List<ApiKeyRecord>> ReadKeysAsync(string sql, string? hash, CancellationToken cancellationToken)
    {
        await using var read = Command(sql);
        if (hash is not null)
        {
            read.With("hash", hash, NpgsqlDbType.Text);
        }
        return await read.ReadAllAsync(
            r => new ApiKeyRecord
            {
                Id = r.GetString(0),
                Name = r.GetString(1),
                Hash = r.GetString(2),
                IsAdmin = r.GetBoolean(3),
                CreatedAt = r.GetFieldValue<DateTimeOffset>(4),
                RevokedAt = r.NullableTime(5),
            },
            cancellationToken).ConfigureAwait(false);
    }
}
