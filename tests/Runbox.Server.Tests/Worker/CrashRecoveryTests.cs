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
    public async Task Serve_ExitsListingEveryError_WhenConfigurationIsInvalid()
    {
        using var data = new TempFolder();
        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { ServeProcess.CliDll, "serve", "--urls", "http://127.0.0.1:0", "--data", data.Path, "--workers", "0", "--Runbox:LeaseSeconds=-1", "--Runbox:Maximums:MemoryMb=0", "--Runbox:RetentionDays=-1" })
        {
            info.ArgumentList.Add(arg);
        }
        using var process = System.Diagnostics.Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        output.WriteLine(await stderr);

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("Runbox:Workers", await stderr);
        Assert.Contains("Runbox:LeaseSeconds", await stderr);
        Assert.Contains("Runbox:Maximums:MemoryMb", await stderr);
        Assert.Contains("Runbox:RetentionDays must be between 0", await stderr);
    }

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
