using Npgsql;
using NpgsqlTypes;

namespace Runbox.Storage.Postgres;

internal static class PostgresCommands
{
    public static NpgsqlCommand With(this NpgsqlCommand command, string name, object? value)
    {
        command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    /// <summary>A parameter whose type PostgreSQL cannot infer when it is null.</summary>
    public static NpgsqlCommand With(this NpgsqlCommand command, string name, object? value, NpgsqlDbType type)
    {
        command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value ?? DBNull.Value });
        return command;
    }

    /// <summary>timestamptz takes only UTC offsets.</summary>
    public static NpgsqlCommand WithTime(this NpgsqlCommand command, string name, DateTimeOffset? value) =>
        command.With(name, value?.ToUniversalTime(), NpgsqlDbType.TimestampTz);

    public static DateTimeOffset? NullableTime(this NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    public static string? NullableString(this NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static async Task<List<T>> ReadAllAsync<T>(this NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(read(reader));
        }
        return rows;
    }
}
