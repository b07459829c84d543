using System.Net.Http.Headers;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Cluster;

/// <summary>
/// Two API nodes and a worker node, each its own process: what one API node is asked about a job another process runs
/// (live logs, cancel, artifacts) travels only through PostgreSQL.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterApiNodesTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task ApiNodes_StreamLiveLogsAndServeArtifacts_OfAJobRunOnAWorkerNode()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var first = await cluster.StartApiAsync();
        var second = await cluster.StartApiAsync();
        await cluster.StartWorkerAsync("node-a", 1);
        using var submitter = cluster.Client(first);
        using var follower = cluster.Client(second);

        var job = await submitter.SubmitOkAsync(ClusterApi.Python(
            "import time\nprint('first', flush=True)\ntime.sleep(3)\nopen('report.txt', 'w').write('made on a worker')\nprint('second')"));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/jobs/{job.Id}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var events = await follower.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        string? line;
        while ((line = await reader.ReadLineAsync(timeout.Token)) is not null && !line.Contains("\"text\":\"first\"", StringComparison.Ordinal))
        {
        }
        Assert.NotNull(line);
        // The first line reached the second API node while the job still ran on the worker: it streamed live.
        Assert.Equal("running", (await submitter.GetJobAsync(job.Id)).Status);
        var rest = await reader.ReadToEndAsync(timeout.Token);
        Assert.Contains("\"text\":\"second\"", rest);
        Assert.Contains("event: result", rest);

        var ended = await submitter.WaitEndedAsync(job.Id, 30);
        Assert.Equal("succeeded", ended.Status);
        Assert.StartsWith("node-a/", ended.Worker);
        foreach (var api in new[] { submitter, follower })
        {
            var artifact = await api.GetAsync($"/api/v1/jobs/{job.Id}/artifacts/report.txt");
            Assert.True(artifact.IsSuccessStatusCode, $"{(int)artifact.StatusCode} from {api.BaseAddress}");
            Assert.Equal("made on a worker", await artifact.Content.ReadAsStringAsync());
        }
    }

    [SkippableFact]
    public async Task Cancel_FromAnyApiNode_StopsTheJobOnItsWorkerNode()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var first = await cluster.StartApiAsync();
        var second = await cluster.StartApiAsync();
        await cluster.StartWorkerAsync("node-a", 1);
        using var submitter = cluster.Client(first);
        using var canceller = cluster.Client(second);

        var job = await submitter.SubmitOkAsync(ClusterApi.Python("import time\nprint('started', flush=True)\ntime.sleep(300)"));
        await ClusterApi.UntilAsync(async () => (await submitter.GetJobAsync(job.Id)).Status == "running", 60, "the job runs");
        var cancel = await canceller.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null);
        Assert.True(cancel.IsSuccessStatusCode, $"{(int)cancel.StatusCode}");

        var ended = await submitter.WaitEndedAsync(job.Id, 30);
        Assert.Equal("cancelled", ended.Status);
        Assert.True(ended.CancelRequested);
        // The worker slot is free again: the next job runs.
        var next = await canceller.SubmitOkAsync(ClusterApi.Python("print('next')"));
        Assert.Equal("succeeded", (await submitter.WaitEndedAsync(next.Id, 60)).Status);
    }
}
