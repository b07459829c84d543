using Runbox.Storage;
using Runbox.Storage.Postgres;
using Runbox.Storage.Sqlite;

namespace Runbox.Server.Configuration;

/// <summary>Opens the store the configuration names: PostgreSQL for a connection string, else SQLite in the data folder.</summary>
internal static class StoreFactory
{
    public static IJobStore Create(RunboxOptions options, DataFolder data, TimeProvider time) =>
        options.Store is { Length: > 0 } connectionString
            ? new PostgresJobStore(connectionString, time, pollInterval: TimeSpan.FromSeconds(options.PollSeconds))
            : new SqliteJobStore(data.Root, time);

    /// <summary>Where the store is, for logs: never the password.</summary>
    public static string Describe(RunboxOptions options, DataFolder data)
    {
        if (options.Store is not { Length: > 0 } connectionString)
        {
            return data.Database;
        }
        var settings = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        return $"PostgreSQL {settings.Host}:{settings.Port}/{settings.Database}";
    }
}
