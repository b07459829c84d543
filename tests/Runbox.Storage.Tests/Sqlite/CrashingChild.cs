using System.Diagnostics;
using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;
using Runbox.Storage.Sqlite;

namespace Runbox.Storage.Tests.Sqlite;

/// <summary>
/// Runs in a child process: writes through the store, says so, then kills itself with SIGKILL — no dispose, no
/// checkpoint, no flush beyond what the store did before acknowledging.
/// </summary>
public static class CrashingChild
{
    public const string Command = "crash-after-writes";
    public const string Acknowledged = "acknowledged";

    public static async Task RunAsync(string data, string jobId)
    {
        var store = new SqliteJobStore(data);
        await store.MigrateAsync();
        await store.InsertJobAsync(TestJobs.Queued(id: jobId));
        await store.InsertJobAsync(TestJobs.Queued());
        var claim = await store.ClaimAsync("child", TimeSpan.FromMinutes(1)) ?? throw new InvalidOperationException("nothing to claim");
        await store.AppendLogsAsync(jobId, [TestJobs.Line(1, "one"), TestJobs.Line(2, "two")]);
        await store.SaveArtifactAsync(jobId, "out.txt", TestJobs.Bytes("artifact"));
        await claim.CompleteAsync(new JobOutcome { Status = JobStatus.Succeeded, ExitCode = 0, Stdout = [0, 255, 10] });
        Console.Out.WriteLine(Acknowledged);
        Console.Out.Flush();
        Process.GetCurrentProcess().Kill();
        await Task.Delay(Timeout.Infinite);
    }
}
