using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;
using Runbox.Storage.Workers;

namespace Runbox.Storage.Tests.Contract;

public abstract partial class JobStoreContract
{
    private static WorkerRecord Worker(string name, int busy = 0, params string[] runtimes) => new()
    {
        Name = name,
        Slots = 4,
        Busy = busy,
        Runtimes = runtimes,
        StartedAt = TestJobs.Epoch,
        Instance = "instance-of-" + name,
    };

    [SkippableFact]
    public async Task HeartbeatWorker_ListsWorkerWithStoreTime_WhenFirstSeen()
    {
        await using var store = await NewStoreAsync();

        await store.HeartbeatWorkerAsync(Worker("node-b", 1, "default", "py311"));
        await store.HeartbeatWorkerAsync(Worker("node-a"));

        var workers = await store.ListWorkersAsync();
        Assert.Equal(["node-a", "node-b"], workers.Select(w => w.Name));
        var b = workers[1];
        Assert.Equal(4, b.Slots);
        Assert.Equal(1, b.Busy);
        Assert.Equal(["default", "py311"], b.Runtimes);
        Assert.Equal(TestJobs.Epoch, b.StartedAt);
        Assert.Equal(Time.GetUtcNow(), b.LastSeenAt);
        Assert.Equal("instance-of-node-b", b.Instance);
        Assert.Empty(workers[0].Runtimes);
    }

    [SkippableFact]
    public async Task HeartbeatWorker_UpdatesLastSeenAndBusy_WhenRepeated()
    {
        await using var store = await NewStoreAsync();
        await store.HeartbeatWorkerAsync(Worker("node-a", 0, "default"));

        Time.Advance(TimeSpan.FromSeconds(5));
        await store.HeartbeatWorkerAsync(Worker("node-a", 3, "default", "science"));

        Time.Advance(TimeSpan.FromSeconds(5));
        // Another node given the same name takes the entry over (its start refuses that while the entry is refreshed).
        await store.HeartbeatWorkerAsync(Worker("node-a", 3, "default", "science") with { Instance = "elsewhere" });

        var worker = Assert.Single(await store.ListWorkersAsync());
        Assert.Equal("elsewhere", worker.Instance);
        Assert.Equal(3, worker.Busy);
        Assert.Equal(["default", "science"], worker.Runtimes);
        Assert.Equal(Time.GetUtcNow(), worker.LastSeenAt);
    }

    [SkippableFact]
    public async Task RemoveWorker_RemovesOnlyThatWorker_WhenItStops()
    {
        await using var store = await NewStoreAsync();
        await store.HeartbeatWorkerAsync(Worker("node-a"));
        await store.HeartbeatWorkerAsync(Worker("node-b"));

        Assert.True(await store.RemoveWorkerAsync("node-a"));
        Assert.False(await store.RemoveWorkerAsync("node-a"));

        Assert.Equal(["node-b"], (await store.ListWorkersAsync()).Select(w => w.Name));
    }

    [SkippableFact]
    public async Task RescueNode_EndsOnlyThatNodesRunningJobs_WithoutWaitingForTheirLeases()
    {
        await using var store = await NewStoreAsync();
        var mine = TestJobs.Queued();
        var mineBare = TestJobs.Queued();
        var similarName = TestJobs.Queued();
        var other = TestJobs.Queued();
        var queued = TestJobs.Queued();
        foreach (var job in new[] { mine, mineBare, similarName, other, queued })
        {
            await store.InsertJobAsync(job);
        }
        await using var a1 = await store.ClaimAsync("node_a/1", Lease);
        await using var a = await store.ClaimAsync("node_a", Lease);
        await using var ab = await store.ClaimAsync("node_ab/1", Lease);
        await using var b = await store.ClaimAsync("nodexa/1", Lease);

        var rescued = await store.RescueNodeAsync("node_a");

        Assert.Equal(new[] { mine.Id, mineBare.Id }.Order(), rescued.Order());
        var lost = await GetAsync(store, mine.Id);
        Assert.Equal(JobStatus.Error, lost.Status);
        Assert.Equal("worker lost", lost.Outcome?.Error);
        Assert.Equal(Time.GetUtcNow(), lost.FinishedAt);
        Assert.Equal(JobStatus.Running, (await GetAsync(store, similarName.Id)).Status);
        Assert.Equal(JobStatus.Running, (await GetAsync(store, other.Id)).Status);
        Assert.Equal(JobStatus.Queued, (await GetAsync(store, queued.Id)).Status);
        Assert.False(await a1!.CompleteAsync(new JobOutcome { Status = JobStatus.Succeeded, ExitCode = 0, FinishedAt = Time.GetUtcNow() }));
    }

    [SkippableFact]
    public async Task RescueNode_RequeuesJob_WhenItHasAttemptsLeft()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued(maxAttempts: 2);
        await store.InsertJobAsync(job);
        await using var first = await store.ClaimAsync("node-a/1", Lease);

        Assert.Equal([job.Id], await store.RescueNodeAsync("node-a"));

        Assert.Equal(JobStatus.Queued, (await GetAsync(store, job.Id)).Status);
        await using var second = await store.ClaimAsync("node-a/2", Lease);
        Assert.Equal(2, second!.Attempt);
        Assert.Equal([job.Id], await store.RescueNodeAsync("node-a"));
        Assert.Equal(JobStatus.Error, (await GetAsync(store, job.Id)).Status);
    }
}
