using Npgsql;
using NpgsqlTypes;
using Runbox.Storage.Runtimes;

namespace Runbox.Storage.Postgres;

public sealed partial class PostgresJobStore
{
    public async Task<bool> TryInsertRuntimeAsync(RuntimeRecord runtime, CancellationToken cancellationToken = default)
    {
        await using var insert = Bind(Command(
            "INSERT INTO runtimes (name, state, document, created_at, updated_at) VALUES (@name, @state, @doc, @created, @updated) ON CONFLICT (name) DO NOTHING"),
            runtime);
        return await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> UpdateRuntimeAsync(RuntimeRecord runtime, CancellationToken cancellationToken = default)
    {
        await using var update = Bind(Command("UPDATE runtimes SET state = @state, document = @doc, updated_at = @updated WHERE name = @name"), runtime);
        return await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<RuntimeRecord?> GetRuntimeAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var read = Command("SELECT document FROM runtimes WHERE name = @name").With("name", name, NpgsqlDbType.Text);
        var found = await read.ReadAllAsync(r => RuntimeDocument.Deserialize(r.GetString(0)), cancellationToken).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public async Task<IReadOnlyList<RuntimeRecord>> ListRuntimesAsync(CancellationToken cancellationToken = default)
    {
        await using var read = Command("SELECT document FROM runtimes ORDER BY name");
        return await read.ReadAllAsync(r => RuntimeDocument.Deserialize(r.GetString(0)), cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteRuntimeAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var delete = Command("DELETE FROM runtimes WHERE name = @name").With("name", name, NpgsqlDbType.Text);
        return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private static NpgsqlCommand Bind(NpgsqlCommand command, RuntimeRecord runtime) => command
        .With("name", runtime.Name, NpgsqlDbType.Text)
        .With("state", runtime.State.ToWire(), NpgsqlDbType.Text)
        .With("doc", RuntimeDocument.Serialize(runtime), NpgsqlDbType.Json)
        .WithTime("created", runtime.CreatedAt)
        .WithTime("updated", runtime.UpdatedAt);
}
