using Runbox.Storage.Runtimes;

namespace Runbox.Storage.Sqlite;

public sealed partial class SqliteJobStore
{
    public Task<bool> TryInsertRuntimeAsync(RuntimeRecord runtime, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var insert = connection.Command(transaction,
                "INSERT INTO runtimes (name, state, document, created_at, updated_at) VALUES ($name, $state, $doc, $created, $updated) ON CONFLICT (name) DO NOTHING");
            Bind(insert, runtime);
            return await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public Task<bool> UpdateRuntimeAsync(RuntimeRecord runtime, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var update = connection.Command(transaction,
                "UPDATE runtimes SET state = $state, document = $doc, updated_at = $updated WHERE name = $name");
            Bind(update, runtime);
            return await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public async Task<RuntimeRecord?> GetRuntimeAsync(string name, CancellationToken cancellationToken = default)
    {
        var found = await ReadRuntimesAsync("SELECT document FROM runtimes WHERE name = $name", name, cancellationToken).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public async Task<IReadOnlyList<RuntimeRecord>> ListRuntimesAsync(CancellationToken cancellationToken = default) =>
        await ReadRuntimesAsync("SELECT document FROM runtimes ORDER BY name", null, cancellationToken).ConfigureAwait(false);

    public Task<bool> DeleteRuntimeAsync(string name, CancellationToken cancellationToken = default) =>
        WriteAsync(async (connection, transaction) =>
        {
            await using var delete = connection.Command(transaction, "DELETE FROM runtimes WHERE name = $name").With("$name", name);
            return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    private static void Bind(Microsoft.Data.Sqlite.SqliteCommand command, RuntimeRecord runtime) => command
        .With("$name", runtime.Name)
        .With("$state", runtime.State.ToWire())
        .With("$doc", RuntimeDocument.Serialize(runtime))
        .With("$created", StoreTime.ToMicros(runtime.CreatedAt))
        .With("$updated", StoreTime.ToMicros(runtime.UpdatedAt));

    private Task<List<RuntimeRecord>> ReadRuntimesAsync(string sql, string? name, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using var read = connection.Command(null, sql).With("$name", name);
            var runtimes = new List<RuntimeRecord>();
            await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                runtimes.Add(RuntimeDocument.Deserialize(reader.GetString(0)));
            }
            return runtimes;
        }, cancellationToken);
}
