using Runbox.Testing;
using Runbox.Storage.Sqlite;

namespace Runbox.Storage.Tests.Sqlite;

/// <summary>
/// The database (every job's script, environment and output) and the artifacts are the server's user's only: another
/// local user cannot read them, even in a data folder anyone may enter.
/// </summary>
public sealed class SqliteFileModeTests(TempFolder folder) : IClassFixture<TempFolder>
{
    private const UnixFileMode Open = (UnixFileMode)0x1ED; // 0755, what the usual umask gives a folder

    [SkippableFact]
    public async Task TheDatabaseAndArtifacts_AreNotReadableByAnotherUser()
    {
        OtherUser.Require();
        File.SetUnixFileMode(folder.Path, Open);
        var data = folder.NewSubfolder();
        File.SetUnixFileMode(data, Open);
        var job = TestJobs.Queued();
        await using (var store = new SqliteJobStore(data))
        {
            await store.MigrateAsync();
            await store.InsertJobAsync(job);
            await store.SaveArtifactAsync(job.Id, "out.txt", TestJobs.Bytes("what the job left"));
            await AssertUnreadableAsync(data, job.Id);
        }

        // Files an earlier version made with the umask's modes are closed too when the store opens them again.
        var database = Path.Combine(data, SqliteJobStore.DatabaseFileName);
        File.SetUnixFileMode(database, Open & ~(UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute));
        File.SetUnixFileMode(Path.Combine(data, "artifacts"), Open);
        Assert.Equal(0, await OtherUser.ExitCodeAsync("cat", database));
        await using (var store = new SqliteJobStore(data))
        {
            await store.MigrateAsync();
            Assert.NotNull(await store.GetJobAsync(job.Id));
            await AssertUnreadableAsync(data, job.Id);
        }
    }

    private static async Task AssertUnreadableAsync(string data, string jobId)
    {
        var database = Path.Combine(data, SqliteJobStore.DatabaseFileName);
        foreach (var path in (string[])[database, database + "-wal", database + "-shm", Path.Combine(data, "artifacts", jobId, "out.txt")])
        {
            Assert.True(File.Exists(path), path);
            Assert.True(await OtherUser.ExitCodeAsync("cat", path) != 0, $"another user read {path}");
        }
        Assert.True(await OtherUser.ExitCodeAsync("ls", Path.Combine(data, "tmp")) != 0, "another user listed the artifacts' temporary folder");
    }
}
