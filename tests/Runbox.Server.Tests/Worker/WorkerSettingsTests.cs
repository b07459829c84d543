using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Runbox.Execution.Jobs;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Storage;
using Runbox.Storage.Jobs;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Worker;

/// <summary>The worker side of a job the API side changed: settings that differ, a job deleted while it ran.</summary>
public sealed class WorkerSettingsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task NetworkJob_EndsAsErrorNamingTheSetting_WhenThisWorkerDoesNotAllowNetwork()
    {
        await using var server = await RunningServer.StartAsync(output);
        // As an API node with Runbox:AllowNetwork would have stored it (this one would refuse it at the API).
        var job = new JobRecord
        {
            Id = "job_" + Guid.NewGuid().ToString("N")[..12],
            Owner = "key_test",
            Status = JobStatus.Queued,
            CreatedAt = DateTimeOffset.UtcNow,
            Spec = new JobSpec { Script = "print('ran')", Network = true, MaxAttempts = 1 },
        };
        await server.App.Services.GetRequiredService<IJobStore>().InsertJobAsync(job);

        var ended = await server.Admin.WaitEndedAsync(job.Id, 30);

        Assert.Equal("error", ended.Status);
        Assert.Contains("Runbox:AllowNetwork must be set on every node", ended.Error);
        Assert.Equal("", ended.Stdout ?? "");
    }

    [Fact]
    public async Task RunningJobDeleted_IsLoggedAsADelete_NotAsALostLease()
    {
        await using var server = await RunningServer.StartAsync(output);
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('working', flush=True)\ntime.sleep(30)" });
        while ((await server.Admin.GetJobAsync(job.Id)).Status != "running")
        {
            await Task.Delay(100);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await server.Admin.DeleteAsync($"/api/v1/jobs/{job.Id}")).StatusCode);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!server.Logs.Events.Any(e => e.Id == 1121))
        {
            Assert.True(DateTime.UtcNow < deadline, "no 'deleted while it ran' event");
            await Task.Delay(100);
        }
        Assert.DoesNotContain(server.Logs.Events, e => e.Id == 1104);
    }

    [Fact]
    public async Task NoWorkerOnSqlite_WarnsThatJobsStayQueued()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:NoWorker"] = "true" });

        Assert.Contains(server.Logs.Events, e => e.Id == 1002);
    }
}
