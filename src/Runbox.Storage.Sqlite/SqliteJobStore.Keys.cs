using Runbox.Storage.Keys;

namespace Runbox.Storage.Sqlite;

public sealed partial class SqliteJobStore
{
    private const string KeyColumns = "id, name, hash, is_admin, created_at, revoked_at";

    public Task InsertKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var insert = connection.Command(transaction,
                $"INSERT INTO api_keys ({KeyColumns}) VALUES ($id, $name, $hash, $is_admin, $created_at, $revoked_at)")
                .With("$id", key.Id)
                .With("$name", key.Name)
                .With("$hash", key.Hash)
                .With("$is_admin", key.IsAdmin)
                .With("$created_at", StoreTime.ToMicros(key.CreatedAt))
                .With("$revoked_at", key.RevokedAt is { } revoked ? StoreTime.ToMicros(revoked) : null);
            return await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<bool> InsertFirstAdminKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            // One statement in a write transaction (SQLite has one writer per file): the check and the insert cannot
            // interleave with another process's, so a second server on the same data folder finds the first one's key.
            await using var insert = connection.Command(transaction,
                $"INSERT INTO api_keys ({KeyColumns}) SELECT $id, $name, $hash, 1, $created_at, NULL " +
                "WHERE NOT EXISTS (SELECT 1 FROM api_keys WHERE is_admin AND revoked_at IS NULL)")
                .With("$id", key.Id)
                .With("$name", key.Name)
                .With("$hash", key.Hash)
                .With("$created_at", StoreTime.ToMicros(key.CreatedAt));
            return await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public async Task<ApiKeyRecord?> FindKeyAsync(string hash, CancellationToken cancellationToken = default)
    {
        var keys = await ReadKeysAsync($"SELECT {KeyColumns} FROM api_keys WHERE hash = $hash AND revoked_at IS NULL", hash, cancellationToken)
            .ConfigureAwait(false);
        return keys.Count == 0 ? null : keys[0];
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(CancellationToken cancellationToken = default) =>
        await ReadKeysAsync($"SELECT {KeyColumns} FROM api_keys ORDER BY created_at, id", null, cancellationToken).ConfigureAwait(false);

    public Task<bool> RevokeKeyAsync(string id, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            // Revoking twice keeps the first time.
            await using var revoke = connection.Command(transaction,
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $now) WHERE id = $id")
                .With("$id", id)
                .With("$now", StoreTime.ToMicros(time.GetUtcNow()));
            return await revoke.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    private Task<List<ApiKeyRecord>> ReadKeysAsync(string sql, string? hash, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using var read = connection.Command(null, sql).With("$hash", hash);
            var keys = new List<ApiKeyRecord>();
            await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                keys.Add(new ApiKeyRecord
                {
                    Id = reader.GetString(0),
                    Name = reader.GetString(1),
                    Hash = reader.GetString(2),
                    IsAdmin = reader.GetBoolean(3),
                    CreatedAt = StoreTime.FromMicros(reader.GetInt64(4)),
                    RevokedAt = reader.NullableInt64(5) is { } revoked ? StoreTime.FromMicros(revoked) : null,
                });
            }
            return keys;
        }, cancellationToken);
}
