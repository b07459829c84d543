using System.Net.Http.Json;
using System.Text.Json;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Server.Tests.Runtimes;
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

    [SkippableFact]
    public async Task WorkerRestart_StopsTheInstallerAKilledWorkerLeftRunning_BeforeItRebuildsThatEnvironment()
    {
        using var wheels = new TempFolder();
        RuntimeServer.WriteWheels(wheels.Path);
        await using var index = await GatedWheelServer.StartAsync(wheels.Path, "extrapkg-");
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        var data = cluster.NewFolder();
        string[] settings = [$"--Runbox:Packages:FindLinks={index.Url}", "--Runbox:Packages:Offline=true"];
        // pip gives up a read after 15 s and prints a retry warning, which ends a pip whose worker is gone: the gated
        // download must outlast a restart on a busy machine.
        var slowIndex = new Dictionary<string, string> { ["PIP_TIMEOUT"] = "300" };
        var first = await cluster.StartWorkerInAsync(data, "node-a", 1, slowIndex, settings);
        using var client = cluster.Client(api);
        var created = await client.PostAsJsonAsync("/api/v1/runtimes", new Dictionary<string, object> { ["name"] = "gated", ["packages"] = new[] { "extrapkg" } });
        Assert.True(created.IsSuccessStatusCode, $"{(int)created.StatusCode}: {await created.Content.ReadAsStringAsync()}");
        // The worker's pip waits on extrapkg's download, building <data>/runtimes/gated, printing nothing meanwhile.
        await index.Requested.WaitAsync(TimeSpan.FromSeconds(180));
        await first.KillHardAsync();
        var orphans = RuntimesApiTests.Installers(data);

        await cluster.StartWorkerInAsync(data, "node-a", 1, slowIndex, settings);
        // Had it run on, it would install into the folder this start deletes and builds again (the new pip waits on the
        // same download meanwhile, so only the orphan's id tells them apart).
        var left = RuntimesApiTests.Installers(data).Intersect(orphans).ToList();
        index.Release();
        string state = "ready";
        await ClusterApi.UntilAsync(async () =>
        {
            state = (await (await client.GetAsync("/api/v1/runtimes/gated")).JsonAsync()).GetProperty("state").GetString()!;
            return state is "operational" or "failed";
        }, 240, "runtime gated settled");

        Assert.Single(orphans); // what SIGKILL leaves: the installer is not the worker's to take along
        Assert.Empty(left);
        Assert.Equal("operational", state);
    }
}
