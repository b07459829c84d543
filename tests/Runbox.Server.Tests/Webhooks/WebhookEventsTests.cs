using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Runbox.Execution.Jobs;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Storage;
using Runbox.Storage.Jobs;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Webhooks;

/// <summary>Every way a job ends sends its callback, not only a run a worker finished.</summary>
public sealed class WebhookEventsTests(ITestOutputHelper output)
{
    private static Dictionary<string, string?> Settings(bool noWorker = false) => new()
    {
        ["Runbox:Webhooks:AllowPrivateAddresses"] = "true",
        ["Runbox:Webhooks:Secret"] = "test-webhook-secret-0123456789",
        ["Runbox:Webhooks:InitialBackoffSeconds"] = "0.2",
        ["Runbox:NoWorker"] = noWorker ? "true" : "false",
    };

    [Fact]
    public async Task Callback_IsSentOnce_WhenTwoCancelsOfAQueuedJobCrossEachOther()
    {
        // Both read the job queued; the second's cancel found it cancelled by the first and queued its callback again.
        using var receiver = new WebhookReceiver(failFirst: 0);
        await using var server = await RunningServer.StartAsync(output, Settings(noWorker: true));
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('never')", CallbackUrl = receiver.Url });
            ids.Add(job.Id);
            await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => server.Admin.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null)));
        }
        for (var i = 0; i < 100 && receiver.Received.Count < ids.Count; i++)
        {
            await Task.Delay(50);
        }
        await Task.Delay(1000);

        var sent = receiver.Received.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("id").GetString()).ToList();
        Assert.Equal(ids.Order(), sent.Order());
    }

    [Fact]
    public async Task Callback_IsSentAsCancelled_WhenAQueuedJobIsCancelled()
    {
        // No worker takes the job, so it ends in the store at the cancel: before, nobody sent its callback.
        using var receiver = new WebhookReceiver(failFirst: 0);
        await using var server = await RunningServer.StartAsync(output, Settings(noWorker: true));
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('never')", CallbackUrl = receiver.Url });

        var cancel = await server.Admin.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var delivery = await receiver.Delivered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var body = JsonDocument.Parse(delivery.Body).RootElement;
        Assert.Equal(job.Id, body.GetProperty("id").GetString());
        Assert.Equal("cancelled", body.GetProperty("status").GetString());
        Assert.Equal("job.finished", delivery.Headers["X-Runbox-Event"]);
    }

    [Fact]
    public async Task Callback_IsSentAsCancelled_WhenAQueuedJobIsStoppedOverJsonRpc()
    {
        using var receiver = new WebhookReceiver(failFirst: 0);
        await using var server = await RunningServer.StartAsync(output, Settings(noWorker: true));
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('never')", CallbackUrl = receiver.Url });

        var stop = await server.Admin.PostAsync("/rpc", new StringContent(
            $$$"""{"jsonrpc":"2.0","id":1,"method":"session_stop","params":{"session_id":"{{{job.Id}}}"}}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, stop.StatusCode);
        var delivery = await receiver.Delivered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("cancelled", JsonDocument.Parse(delivery.Body).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Callback_IsSentAsCancelled_WhenTheServerStopsWhileTheJobRuns()
    {
        // The drain ends the job, then the callbacks' stop came at once: the one it queued was dropped, on every restart.
        using var receiver = new WebhookReceiver(failFirst: 0);
        var settings = Settings();
        settings["Runbox:DrainSeconds"] = "1";
        var server = await RunningServer.StartAsync(output, settings);
        JobResponse job;
        try
        {
            job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\ntime.sleep(300)", CallbackUrl = receiver.Url });
            for (var i = 0; i < 300 && (await server.Admin.GetJobAsync(job.Id)).Status != "running"; i++)
            {
                await Task.Delay(100);
            }
        }
        finally
        {
            await server.DisposeAsync();
        }

        var delivery = await receiver.Delivered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var body = JsonDocument.Parse(delivery.Body).RootElement;
        Assert.Equal(job.Id, body.GetProperty("id").GetString());
        Assert.Equal("cancelled", body.GetProperty("status").GetString());
        Assert.Contains("server stopped", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Callback_IsSentAsError_WhenARescueEndsAJobWhoseWorkerWasLost()
    {
        using var receiver = new WebhookReceiver(failFirst: 0);
        await using var server = await RunningServer.StartAsync(output, Settings(noWorker: true));
        var store = server.App.Services.GetRequiredService<IJobStore>();
        var job = new JobRecord
        {
            Id = "job_" + Guid.NewGuid().ToString("N")[..12],
            Owner = "key_test",
            Status = JobStatus.Queued,
            CreatedAt = DateTimeOffset.UtcNow,
            Spec = new JobSpec { Script = "print('lost')", MaxAttempts = 1, CallbackUrl = receiver.Url },
        };
        await store.InsertJobAsync(job);
        // A worker on another node takes it and dies: its lease runs out unrenewed, and this node's rescuer ends the job.
        await using var claim = await store.ClaimAsync("ghost-node/1", TimeSpan.FromSeconds(1));
        Assert.Equal(job.Id, claim?.Job.Id);

        var delivery = await receiver.Delivered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var body = JsonDocument.Parse(delivery.Body).RootElement;
        Assert.Equal(job.Id, body.GetProperty("id").GetString());
        Assert.Equal("error", body.GetProperty("status").GetString());
        Assert.Contains("worker lost", body.GetProperty("error").GetString());
        Assert.Equal(1, receiver.Attempts);
    }
}
