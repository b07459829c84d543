using Runbox.Storage;

namespace Runbox.Server.Configuration;

/// <summary>Opens the store the configuration names: SQLite in the data folder.</summary>
internal static class StoreFactory
{
    public static IJobStore Create(DataFolder data) =>
        throw new NotSupportedException($"The SQLite store is not merged yet ({data.Database}).");
}
