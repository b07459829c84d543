using System.Net.Http.Json;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Cluster;

/// <summary>One API node and two worker nodes, real processes on one PostgreSQL: the work is shared and each job runs once.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterLoadTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task TwoWorkerNodes_ShareTheJobs_AndEachJobRunsOnce()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        await cluster.StartWorkerAsync("node-a", 2);
        await cluster.StartWorkerAsync("node-b", 2);
        using var client = cluster.Client(api);

        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add((await client.SubmitOkAsync(ClusterApi.Python($"import time\ntime.sleep(0.5)\nprint('job {i}')"))).Id);
        }
        var jobs = new List<Runbox.Server.Jobs.JobResponse>();
        foreach (var id in ids)
        {
            jobs.Add(await client.WaitEndedAsync(id, 90));
        }

        Assert.All(jobs, job => Assert.Equal("succeeded", job.Status));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"job {i}\n"), jobs.Select(job => job.Stdout));
        Assert.All(jobs, job => Assert.Equal(1, job.Attempt));
        Assert.Equal(["node-a", "node-b"], jobs.Select(job => job.Worker!.Split('/')[0]).Distinct().Order());
    }

    [SkippableFact]
    public async Task Workers_AreListedAliveWithSlotsAndRuntimes_ThenStaleOnceKilled()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        await cluster.StartWorkerAsync("node-a", 2);
        var doomed = await cluster.StartWorkerAsync("node-b", 3);
        using var client = cluster.Client(api);

        await ClusterApi.UntilAsync(async () => (await client.WorkersAsync()).Workers.Count == 2, 30, "both workers registered");
        var workers = (await client.WorkersAsync()).Workers;
        Assert.Equal(["node-a", "node-b"], workers.Select(w => w.Name));
        Assert.Equal([2, 3], workers.Select(w => w.Slots));
        Assert.All(workers, w => Assert.Equal("alive", w.Status));
        Assert.All(workers, w => Assert.Contains("default", w.Runtimes));

        await doomed.KillHardAsync();

        await ClusterApi.UntilAsync(
            async () => (await client.WorkersAsync()).Workers.Single(w => w.Name == "node-b").Status == "stale", 30, "the killed worker turns stale");
        Assert.Equal("alive", (await client.WorkersAsync()).Workers.Single(w => w.Name == "node-a").Status);
        using var anonymous = new HttpClient { BaseAddress = api.Address };
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/workers")).StatusCode);
        var created = await (await client.PostAsJsonAsync("/api/v1/keys", new Dictionary<string, object> { ["name"] = "user" })).JsonAsync();
        using var user = api.Client(created.GetProperty("key").GetString()!);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await user.GetAsync("/api/v1/workers")).StatusCode);
    }
}
