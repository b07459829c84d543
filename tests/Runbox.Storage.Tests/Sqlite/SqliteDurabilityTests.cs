using System.Diagnostics;
using Runbox.Execution.Jobs;
using Runbox.Storage.Sqlite;

namespace Runbox.Storage.Tests.Sqlite;

/// <summary>What a process killed mid-flight leaves behind: every write it acknowledged, nothing half-done.</summary>
public sealed class SqliteDurabilityTests(TempFolder folder) : IClassFixture<TempFolder>
{
    [Fact]
    public async Task InsertJob_IsKept_WhenProcessIsKilledAfterAcknowledging()
    {
        var data = folder.NewSubfolder();
        var jobId = TestJobs.NewId();

        var (exitCode, output) = await RunChildAsync(CrashingChild.Command, data, jobId);

        Assert.Contains(CrashingChild.Acknowledged, output, StringComparison.Ordinal);
        Assert.NotEqual(0, exitCode);
        // The child never closed the database: its writes are still in the WAL, not checkpointed into runbox.db.
        Assert.True(File.Exists(Path.Combine(data, SqliteJobStore.DatabaseFileName + "-wal")));

        await using var store = new SqliteJobStore(data);
        await store.MigrateAsync();
        var job = await store.GetJobAsync(jobId);
        Assert.NotNull(job);
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal([0, 255, 10], job.Outcome?.Stdout);
        Assert.Equal(["one", "two"], (await store.ReadLogsAsync(jobId, 0, 10)).Select(line => line.Text));
        Assert.Equal(["out.txt"], (await store.ListArtifactsAsync(jobId)).Select(artifact => artifact.Name));
        Assert.Equal(1, (await store.CountJobsAsync())[JobStatus.Queued]);
    }

    private static async Task<(int ExitCode, string Output)> RunChildAsync(params string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(CrashingChild).Assembly.Location);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var child = Process.Start(start) ?? throw new InvalidOperationException("could not start the child");
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await child.WaitForExitAsync(timeout.Token);
        return (child.ExitCode, await output + await error);
    }

    private static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }
        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
    }
}
