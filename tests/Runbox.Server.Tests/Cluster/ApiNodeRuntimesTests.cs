using System.Net;
using System.Net.Http.Json;
using Runbox.Server.Http;
using Runbox.Server.Runtimes;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Server.Tests.Runtimes;
using Runbox.Storage.Postgres;
using Runbox.Storage.Runtimes;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Cluster;

/// <summary>
/// An API-only node (<c>serve --store ... --no-worker</c>) declares runtimes and leaves building them to the worker nodes:
/// it builds no environment of its own and rewrites no runtime record it did not change.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ApiNodeRuntimesTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task ApiOnlyNode_LeavesDefaultRuntimeAlone_WhenItsInterpreterIsNotOnThisHost()
    {
        var store = await NewDatabaseAsync();
        // As a node on another host left it: its Python is not here, and a worker ran its smoke test.
        var declared = new RuntimeRecord
        {
            Name = "default",
            State = RuntimeState.Operational,
            PythonVersion = "3.99.1",
            InterpreterPath = "/opt/another-host/bin/python3",
            BaseInterpreterPath = "/opt/another-host/bin/python3",
            Packages = [new InstalledPackage("pip", "99.0")],
            CreatedAt = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
            UpdatedAt = new DateTimeOffset(2026, 1, 2, 3, 4, 6, TimeSpan.Zero),
        };
        await using (var seed = new PostgresJobStore(store))
        {
            await seed.MigrateAsync();
            Assert.True(await seed.TryInsertRuntimeAsync(declared));
        }

        await using var api = await StartApiNodeAsync(store);
        var shown = await api.Admin.GetRuntimeAsync("default");

        Assert.Equal(("operational", "/opt/another-host/bin/python3"), (shown.State, shown.InterpreterPath));
        await using var check = new PostgresJobStore(store);
        Assert.Equal(declared, await check.GetRuntimeAsync("default"));
    }

    [SkippableFact]
    public async Task ApiOnlyNode_DeclaresRuntimeForWorkers_WithoutBuildingAnEnvironmentItself()
    {
        await using var api = await StartApiNodeAsync(await NewDatabaseAsync());

        var created = await api.Admin.PostAsJsonAsync("/api/v1/runtimes", new RuntimeCreateRequest { Name = "extra", Packages = ["tinypkg"] }, RunboxJson.Options);
        var declared = await created.ReadAsync<RuntimeResponse>();
        var installed = await api.Admin.PostAsJsonAsync("/api/v1/runtimes/extra/packages", new RuntimeInstallRequest { Packages = ["extrapkg"], Preload = ["extrapkg"] }, RunboxJson.Options);
        var grown = await installed.ReadAsync<RuntimeResponse>();
        var shown = await api.Admin.GetRuntimeAsync("extra");

        // Ready for the workers to build; jobs on it wait for a worker that has it (none runs here).
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        Assert.Equal("ready", declared.State);
        Assert.Contains("worker", declared.Progress);
        Assert.Equal(HttpStatusCode.Accepted, installed.StatusCode);
        Assert.Equal(("ready", "ready"), (grown.State, shown.State));
        Assert.Equal(["tinypkg", "extrapkg"], shown.Requirements);
        Assert.Equal(["extrapkg"], shown.Preload);
        Assert.False(Directory.Exists(Path.Combine(api.DataDirectory, "runtimes")), "the API node built an environment in its data folder");
        var job = await api.Admin.SubmitAsync(new Runbox.Server.Jobs.JobSubmission { Runtime = "extra", Script = "print(1)" });
        Assert.Equal(HttpStatusCode.Accepted, job.StatusCode);

        // Taking a preload out is declared the same way: the workers restart their zygote without it.
        var unloaded = await api.Admin.PostAsJsonAsync("/api/v1/runtimes/extra/packages", new RuntimeInstallRequest { RemovePreload = ["extrapkg"] }, RunboxJson.Options);
        var after = await api.Admin.GetRuntimeAsync("extra");
        Assert.Equal(HttpStatusCode.Accepted, unloaded.StatusCode);
        Assert.Equal("ready", after.State);
        Assert.Empty(after.Preload);
        Assert.Equal(["tinypkg", "extrapkg"], after.Requirements);
    }

    private async Task<string> NewDatabaseAsync()
    {
        postgres.Require();
        return await postgres.Server.NewDatabaseAsync("runbox-api-node");
    }

    private Task<RunningServer> StartApiNodeAsync(string store) => RunningServer.StartAsync(output, new Dictionary<string, string?>
    {
        ["Runbox:Store"] = store,
        ["Runbox:NoWorker"] = "true",
        ["Runbox:SingleNode"] = "false",
        ["Runbox:Socket"] = "none",
    });
}
