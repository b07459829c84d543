using Microsoft.Data.Sqlite;
using Runbox.Storage.Sqlite;

namespace Runbox.Storage.Tests.Sqlite;

/// <summary>A database file a newer Runbox migrated is refused, not used half-understood.</summary>
public sealed class SqliteMigrationTests(TempFolder folder) : IClassFixture<TempFolder>
{
    [Fact]
    public async Task Migrate_RefusesToStart_WhenDatabaseHasVersionThisBuildDoesNotKnow()
    {
        var data = folder.NewSubfolder();
        await using (var store = new SqliteJobStore(data))
        {
            await store.MigrateAsync();
        }
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(data, SqliteJobStore.DatabaseFileName)};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var future = connection.CreateCommand();
            future.CommandText = "INSERT INTO schema_version (version, applied_at) VALUES (999, 0)";
            await future.ExecuteNonQueryAsync();
        }

        await using var again = new SqliteJobStore(data);
        var error = await Assert.ThrowsAsync<StoreVersionException>(() => again.MigrateAsync());

        Assert.StartsWith($"The database {SqliteJobStore.DatabaseFileName} has schema version 999, which this Runbox does not know", error.Message);
    }
}
