using Runbox.Storage;
using Runbox.Storage.Sqlite;

namespace Runbox.Server.Configuration;

/// <summary>Opens the store the configuration names: SQLite in the data folder.</summary>
internal static class StoreFactory
{
    public static IJobStore Create(DataFolder data, TimeProvider time) => new SqliteJobStore(data.Root, time);
}
