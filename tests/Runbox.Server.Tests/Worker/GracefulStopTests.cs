using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Worker;

/// <summary>SIGTERM to a real server with a job running, as docs/operations.md says ("Graceful stop").</summary>
public sealed class GracefulStopTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sigterm_CancelsTheJobPastTheDrain_WithTheReason_AndExits0()
    {
        using var data = new TempFolder();
        var port = ServeProcess.FreePort();
        string key;
        string runningId;
        await using (var server = await ServeProcess.StartAsync(data.Path, port, output, "--workers", "1", "--Runbox:DrainSeconds=1"))
        {
            key = (await File.ReadAllTextAsync(Path.Combine(data.Path, "admin.key"))).Trim();
            using var client = server.Client(key);
            runningId = (await client.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('working', flush=True)\ntime.sleep(300)" })).Id;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((await client.GetJobAsync(runningId)).Status != "running")
            {
                Assert.True(DateTime.UtcNow < deadline, "the job did not start within 30 s");
                await Task.Delay(100);
            }

            Assert.Equal(0, await server.StopAsync());
            Assert.Contains(server.Output, l => l.Contains("Worker stop deadline passed; cancelling the jobs still running", StringComparison.Ordinal));
            Assert.Contains($"Job {runningId} ended cancelled", server.Output.Last(l => l.Trim().Length > 0));
        }

        await using var again = await ServeProcess.StartAsync(data.Path, port, output, "--no-worker");
        using var reader = again.Client(key);
        var ended = await reader.GetJobAsync(runningId);
        Assert.Equal("cancelled", ended.Status);
        Assert.Equal("cancelled: the server stopped before the job ended", ended.Error);
        Assert.Equal("working\n", ended.Stdout);
        Assert.Empty((await (await reader.GetAsync("/api/v1/workers")).JsonAsync()).GetProperty("workers").EnumerateArray());
    }
}
