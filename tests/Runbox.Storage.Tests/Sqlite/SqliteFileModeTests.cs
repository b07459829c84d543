using System.Diagnostics;
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
        Skip.IfNot(Environment.UserName == "root" && File.Exists("/usr/bin/setpriv"), "reading as another user needs root and setpriv");
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
        Assert.Equal(0, await ExitCodeAsAnotherUserAsync("cat", database));
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
            Assert.True(await ExitCodeAsAnotherUserAsync("cat", path) != 0, $"another user read {path}");
        }
        Assert.True(await ExitCodeAsAnotherUserAsync("ls", Path.Combine(data, "tmp")) != 0, "another user listed the artifacts' temporary folder");
    }

    private static async Task<int> ExitCodeAsAnotherUserAsync(string program, string path)
    {
        var start = new ProcessStartInfo("/usr/bin/setpriv") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "--", program, path])
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        await process.StandardOutput.ReadToEndAsync();
        await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode;
    }
}
