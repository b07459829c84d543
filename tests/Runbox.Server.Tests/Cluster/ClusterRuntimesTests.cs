using System.Net.Http.Json;
using System.Text.Json;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Cluster;

/// <summary>A runtime declared on an API node is built by each worker node for itself, and its jobs run there.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterRuntimesTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task RuntimeDeclaredOnApiNode_IsBuiltOnTheWorkerNode_AndItsJobsRunInTheWorkersEnvironment()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        await cluster.StartWorkerAsync("node-a", 1);
        using var client = cluster.Client(api);

        var created = await client.PostAsJsonAsync("/api/v1/runtimes", new Dictionary<string, object> { ["name"] = "extra" });
        Assert.True(created.IsSuccessStatusCode, $"{(int)created.StatusCode}: {await created.Content.ReadAsStringAsync()}");
        // Operational means its smoke-test job ran, and only a worker that has the runtime ready claims it.
        string state = "installing";
        await ClusterApi.UntilAsync(async () =>
        {
            var runtime = await (await client.GetAsync("/api/v1/runtimes/extra")).JsonAsync();
            state = runtime.GetProperty("state").GetString()!;
            Assert.NotEqual("failed", state);
            return state == "operational";
        }, 240, "runtime extra operational");

        // The registry shows it from the worker's next heartbeat (every third of a lease).
        await ClusterApi.UntilAsync(
            async () => Assert.Single((await client.WorkersAsync()).Workers).Runtimes.Contains("extra"), 30, "the worker lists runtime extra");
        var job = await client.SubmitOkAsync(new Runbox.Server.Jobs.JobSubmission { Script = "import sys\nprint(sys.prefix)", Runtime = "extra" });
        var ended = await client.WaitEndedAsync(job.Id, 60);
        Assert.Equal("succeeded", ended.Status);
        var prefix = ended.Stdout!.Trim();
        output.WriteLine($"job ran in {prefix}");
        Assert.EndsWith("/runtimes/extra", prefix);
        var apiVenv = (await (await client.GetAsync("/api/v1/runtimes/extra")).JsonAsync()).GetProperty("venv_path");
        // The worker's own environment, not the one the API node built in its data folder.
        Assert.NotEqual(apiVenv.ValueKind == JsonValueKind.String ? apiVenv.GetString() : null, prefix);
    }
}
