using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Worker;

/// <summary>Kill -9 the real server mid-job and start it again.</summary>
public sealed class CrashRecoveryTests(ITestOutputHelper output)
{
    /// <summary>A lease far longer than the test waits: only the restarted node recognising its own jobs can end them in time.</summary>
    private const string LongLease = "--Runbox:LeaseSeconds=600";

    [Fact]
    public async Task Serve_EndsTheLostJobAsWorkerLostAtOnceAndRunsTheQueuedOne_WhenKilledAndRestarted()
    {
        using var data = new TempFolder();
        var port = ServeProcess.FreePort();
        string runningId;
        string queuedId;
        string key;
        await using (var first = await ServeProcess.StartAsync(data.Path, port, output, "--workers", "1", LongLease))
        {
            key = (await File.ReadAllTextAsync(Path.Combine(data.Path, "admin.key"))).Trim();
            using var client = first.Client(key);
            runningId = (await client.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('working', flush=True)\ntime.sleep(300)" })).Id;
            queuedId = (await client.SubmitOkAsync(new JobSubmission { Script = "print('after the crash')" })).Id;
            await WaitUntilAsync(async () => (await client.GetJobAsync(runningId)).Status == "running", 30);

            await first.KillHardAsync();
        }

        await using var second = await ServeProcess.StartAsync(data.Path, port, output, "--workers", "1", LongLease);
        using var again = second.Client(key);
        var lost = await again.WaitEndedAsync(runningId, 30);
        var queued = await again.WaitEndedAsync(queuedId, 30);

        Assert.Equal("error", lost.Status);
        Assert.Equal("worker lost", lost.Error);
        Assert.Equal("succeeded", queued.Status);
        Assert.Equal("after the crash\n", queued.Stdout);
        Assert.Equal(key, (await File.ReadAllTextAsync(Path.Combine(data.Path, "admin.key"))).Trim());
    }

    [Fact]
    public async Task Serve_RefusesToStart_WhenAnotherServerUsesItsDataFolder_AndItsJobsRunOn()
    {
        await using var first = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:Socket"] = "none" });
        var running = await first.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('working', flush=True)\ntime.sleep(3)\nprint('done')" });
        await WaitUntilAsync(async () => (await first.Admin.GetJobAsync(running.Id)).Status == "running", 30);

        // Without its socket the first server leaves no other trace a second one would stumble on.
        var (code, stderr) = await RunServeAsync("--urls", "http://127.0.0.1:0", "--data", first.DataDirectory, "--socket", "none");

        Assert.Equal(1, code);
        Assert.Contains($"runbox: cannot start: Another Runbox process uses the data folder {first.DataDirectory}", stderr);
        var ended = await first.Admin.WaitEndedAsync(running.Id, 30);
        Assert.Equal("succeeded", ended.Status);
        Assert.Equal("working\ndone\n", ended.Stdout);
    }

    [Fact]
    public async Task Serve_ExitsListingEveryError_WhenConfigurationIsInvalid()
    {
        using var data = new TempFolder();

        var (code, stderr) = await RunServeAsync("--urls", "http://127.0.0.1:0", "--data", data.Path, "--workers", "0",
            "--Runbox:LeaseSeconds=-1", "--Runbox:Maximums:MemoryMb=0", "--Runbox:RetentionDays=-1");

        Assert.Equal(2, code);
        Assert.Contains("Runbox:Workers", stderr);
        Assert.Contains("Runbox:LeaseSeconds", stderr);
        Assert.Contains("Runbox:Maximums:MemoryMb", stderr);
        Assert.Contains("Runbox:RetentionDays must be between 0", stderr);
    }

    private Task<(int ExitCode, string Stderr)> RunServeAsync(params string[] args) =>
        ServeProcess.RunToEndAsync(["serve", .. args], output);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, double seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"condition not met within {seconds} s");
            await Task.Delay(100);
        }
    }
}
