using Microsoft.Data.Sqlite;
using Runbox.Storage.Sqlite;

namespace Runbox.Storage.Tests.Sqlite;

/// <summary>A database file a newer Runbox migrated is refused, not used half-understood; an older one is brought up to date.</summary>
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

    [Fact]
    public async Task Migrate8_ListsAVersion6DatabasesJobsWithoutTheirSubmission()
    {
        var data = folder.NewSubfolder();
        var job = TestJobs.Queued(runtime: "r1", script: "print('nul')\0") with
        {
            Spec = new Jobs.JobSpec { Script = "print('nul')\0", Runtime = "r1", Args = ["a"], Env = new Dictionary<string, string> { ["K"] = "v" } },
        };
        await using (var store = new SqliteJobStore(data))
        {
            await store.MigrateAsync();
            await store.InsertJobAsync(job);
        }
        // Back to version 6, as rows written before migration 8 are: no spec_summary.
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(data, SqliteJobStore.DatabaseFileName)};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var back = connection.CreateCommand();
            back.CommandText = "ALTER TABLE jobs DROP COLUMN spec_summary; DELETE FROM schema_version WHERE version = 8;";
            await back.ExecuteNonQueryAsync();
        }

        await using var again = new SqliteJobStore(data);
        await again.MigrateAsync();

        var listed = Assert.Single((await again.ListJobsAsync(new Jobs.JobQuery())).Jobs);
        Assert.True(listed.SubmissionLeftOut);
        Assert.Equal(("r1", null, 0, 0), (listed.Spec.Runtime, listed.Spec.Script, listed.Spec.Args.Count, listed.Spec.Env.Count));
        Assert.Equal(job.Spec.Script, (await again.GetJobAsync(job.Id))!.Spec.Script);
    }
}
