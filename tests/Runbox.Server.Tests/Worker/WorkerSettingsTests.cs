using Microsoft.Extensions.DependencyInjection;
using Runbox.Execution.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Storage;
using Runbox.Storage.Jobs;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Worker;

/// <summary>A worker whose settings differ from the API node that let a job in.</summary>
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
}
