using System.Net;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Cluster;

/// <summary>
/// What a worker node (<c>runbox worker</c>) answers over HTTP, as deploy/runbox-worker.service and docs/operations.md
/// say: the two health probes, and no API.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class WorkerNodeEndpointsTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task AWorkerNode_AnswersHealthzAndReadyz_AndNoApi()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        await cluster.StartApiAsync();
        var worker = await cluster.StartWorkerAsync("node-a", 2);
        using var anonymous = new HttpClient { BaseAddress = worker.Address };

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        var ready = await anonymous.GetAsync("/readyz");
        var body = await ready.JsonAsync();
        output.WriteLine(body.ToString());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.Equal(2, body.GetProperty("slots").GetProperty("total").GetInt32());
        // Even with a key the API nodes take: the jobs API is theirs.
        using var admin = cluster.Client(worker);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/v1/jobs")).StatusCode);
    }
}
