using System.Net;
using System.Text.Json;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Cluster;

/// <summary>
/// What an API-only node needs of its host to start and to pass <c>/readyz</c> (as a load balancer probes it): it runs
/// no job, so the store, and neither a Python of its own nor the workers' work root.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ApiNodeHostNeedsTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Readyz_OfAnApiNodeWithoutPython_IsReady_AndItsJobsRunOnAWorker()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        using var emptyPath = new TempFolder();
        // No python3 on its PATH, as on an API host installed with the .NET runtime alone.
        var api = await cluster.StartApiAsync(new Dictionary<string, string> { ["PATH"] = emptyPath.Path });
        await cluster.StartWorkerAsync("node-a", 1);
        using var anonymous = new HttpClient { BaseAddress = api.Address };

        var response = await anonymous.GetAsync("/readyz");
        var body = await response.JsonAsync();
        output.WriteLine(body.ToString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.True(body.GetProperty("store").GetBoolean());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("default_runtime").ValueKind);
        Assert.Equal(0, body.GetProperty("slots").GetProperty("total").GetInt32());

        using var client = cluster.Client(api);
        var job = await client.SubmitOkAsync(ClusterApi.Python("print('ran on the worker')"));
        var ended = await client.WaitEndedAsync(job.Id, 60);
        Assert.Equal("succeeded", ended.Status);
        Assert.StartsWith("node-a/", ended.Worker);
    }

    [SkippableFact]
    public async Task AnApiNode_Starts_WhenTheWorkersWorkRootIsNoFolderItCanMake()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        // As from an environment file shared with the worker nodes: a work root this node cannot make (even as root).
        var api = await cluster.StartApiAsync(new Dictionary<string, string> { ["RUNBOX_WORKROOT"] = "/proc/runbox-work" });
        await cluster.StartWorkerAsync("node-a", 1);
        using var anonymous = new HttpClient { BaseAddress = api.Address };

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/readyz")).StatusCode);
        using var client = cluster.Client(api);
        var job = await client.SubmitOkAsync(ClusterApi.Python("print('ran on the worker')"));
        Assert.Equal("succeeded", (await client.WaitEndedAsync(job.Id, 60)).Status);
    }

    // The API node builds no engine; a worker builds it as it starts, so a work root it cannot use still stops it with
    // the reason rather than failing each job it claims.
    [SkippableFact]
    public async Task AWorkerNode_RefusesToStart_WhenItsWorkRootIsNoFolderItCanMake()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();

        var (code, stderr) = await cluster.RunWorkerToEndAsync("node-a", 1, "--Runbox:WorkRoot=/proc/runbox-work");

        Assert.Equal(1, code);
        Assert.Contains("runbox: cannot start: EngineOptions.WorkRoot '/proc/runbox-work' cannot be used", stderr);
    }
}
