using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Cluster;

/// <summary>Faults with real processes: a worker node killed with SIGKILL, the LISTEN connection cut, PostgreSQL restarted.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterFaultTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task KilledWorkerNode_ItsJobsEndWorkerLostOrRunAgain_AndNoOtherJobIsLostOrRunTwice()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        var victim = await cluster.StartWorkerAsync("node-victim", 2);
        using var client = cluster.Client(api);

        var lost = await client.SubmitOkAsync(ClusterApi.Python("import time\nprint('working', flush=True)\ntime.sleep(300)"));
        // Long enough to still be running when the victim dies, however slowly the survivor starts under load
        // (4 s was not: on a loaded CI machine it finished first and ran once).
        var retried = await client.SubmitOkAsync(ClusterApi.Python("import time\ntime.sleep(15)\nprint('done')", maxAttempts: 2));
        await ClusterApi.UntilAsync(
            async () => (await client.GetJobAsync(lost.Id)).Status == "running" && (await client.GetJobAsync(retried.Id)).Status == "running",
            60, "both jobs run on the victim");
        await cluster.StartWorkerAsync("node-survivor", 2);
        var others = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            others.Add((await client.SubmitOkAsync(ClusterApi.Python($"print('other {i}')"))).Id);
        }

        Assert.Equal("running", (await client.GetJobAsync(retried.Id)).Status);
        await victim.KillHardAsync();
        var killedAt = DateTime.UtcNow;

        var lostJob = await client.WaitEndedAsync(lost.Id, 30);
        output.WriteLine($"lost job ended {(DateTime.UtcNow - killedAt).TotalSeconds:F1} s after the kill (lease {ClusterNodes.ShortLease} s)");
        Assert.Equal("error", lostJob.Status);
        Assert.Equal("worker lost", lostJob.Error);
        Assert.Equal(1, lostJob.Attempt);
        var retriedJob = await client.WaitEndedAsync(retried.Id, 120);
        Assert.Equal("succeeded", retriedJob.Status);
        Assert.Equal("done\n", retriedJob.Stdout);
        Assert.Equal(2, retriedJob.Attempt);
        Assert.StartsWith("node-survivor/", retriedJob.Worker);
        for (var i = 0; i < others.Count; i++)
        {
            var other = await client.WaitEndedAsync(others[i], 60);
            Assert.Equal("succeeded", other.Status);
            Assert.Equal($"other {i}\n", other.Stdout);
            Assert.Equal(1, other.Attempt);
        }
    }

    [SkippableFact]
    public async Task KilledWorkerNode_TheRetriedJobsLogIsThatOfItsNewRun()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        var victim = await cluster.StartWorkerAsync("node-victim", 1);
        using var client = cluster.Client(api);
        // Each run prints a line of its own first: the lost run's must not stand in the log in place of the new run's.
        var job = await client.SubmitOkAsync(ClusterApi.Python(
            "import time, uuid\nprint(uuid.uuid4().hex, flush=True)\ntime.sleep(8)\nprint('done')", maxAttempts: 2));
        await ClusterApi.UntilAsync(async () => (await LogTextsAsync(client, job.Id)).Count == 1, 60, "the first run's line is stored");
        var lostRun = (await LogTextsAsync(client, job.Id))[0];

        await victim.KillHardAsync();
        await cluster.StartWorkerAsync("node-survivor", 1);

        var ended = await client.WaitEndedAsync(job.Id, 120);
        Assert.Equal("succeeded", ended.Status);
        Assert.Equal(2, ended.Attempt);
        var texts = await LogTextsAsync(client, job.Id);
        Assert.Equal(ended.Stdout!.TrimEnd('\n').Split('\n'), texts);
        Assert.NotEqual(lostRun, texts[0]);
    }

    [SkippableFact]
    public async Task StalledWorkerNode_WakingAfterItsJobRanAgain_AddsNothingToTheNewRunsLogAndArtifacts()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        var stalled = await cluster.StartWorkerAsync("node-stalled", 1);
        using var client = cluster.Client(api);
        // Each run tags its lines and its artifact. The lost run goes on while its worker is stopped, so it is lines ahead
        // of the new run when its worker wakes: until 2026-12-05 those went in at seqs the new run had not reached yet,
        // and (when it had ended meanwhile) its out.txt replaced the new run's.
        var job = await client.SubmitOkAsync(ClusterApi.Python(
            "import time, uuid\ntag = uuid.uuid4().hex\nprint(tag, 0, flush=True)\n"
            + "for i in range(1, 40):\n    time.sleep(0.25)\n    print(tag, i, flush=True)\n"
            + "open('out.txt', 'w').write(tag)\n", maxAttempts: 2));
        await ClusterApi.UntilAsync(async () => (await LogTextsAsync(client, job.Id)).Count >= 1, 60, "the first run's line is stored");
        var lostTag = (await LogTextsAsync(client, job.Id))[0]!.Split(' ')[0];

        await stalled.PauseAsync();
        try
        {
            await cluster.StartWorkerAsync("node-survivor", 1);
            await ClusterApi.UntilAsync(
                async () => (await LogTextsAsync(client, job.Id)) is [var first, ..] && !first!.StartsWith(lostTag, StringComparison.Ordinal),
                60, "the new run's first line is stored");
        }
        finally
        {
            await stalled.ResumeAsync();
        }

        var ended = await client.WaitEndedAsync(job.Id, 120);
        Assert.Equal("succeeded", ended.Status);
        Assert.Equal(2, ended.Attempt);
        Assert.StartsWith("node-survivor/", ended.Worker);
        var newTag = ended.Stdout!.Split(' ')[0];
        Assert.NotEqual(lostTag, newTag);
        var texts = await LogTextsAsync(client, job.Id);
        Assert.Equal(ended.Stdout!.TrimEnd('\n').Split('\n'), texts);
        Assert.Equal(newTag, await client.GetStringAsync($"/api/v1/jobs/{job.Id}/artifacts/out.txt"));
        // The stalled node stops the lost run once it wakes and says so once.
        await ClusterApi.UntilAsync(
            () => Task.FromResult(stalled.Output.Any(line => line.Contains($"Job {job.Id}: the lease was lost"))), 30, "the stalled node logs the lost lease");
        Assert.Single(stalled.Output, line => line.Contains($"Job {job.Id}: the lease was lost"));
    }

    private static async Task<List<string?>> LogTextsAsync(HttpClient client, string id)
    {
        var logs = await (await client.GetAsync($"/api/v1/jobs/{id}/logs")).JsonAsync();
        return logs.GetProperty("lines").EnumerateArray().Select(line => line.GetProperty("text").GetString()).ToList();
    }

    [SkippableFact]
    public async Task SecondWorkerGivenALiveWorkersName_RefusesToStart_AndTheFirstOnesJobRunsOn()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        await cluster.StartWorkerAsync("node-x", 1);
        using var client = cluster.Client(api);
        var running = await client.SubmitOkAsync(ClusterApi.Python("import time\nprint('working', flush=True)\ntime.sleep(4)\nprint('done')"));
        await ClusterApi.UntilAsync(async () => (await client.GetJobAsync(running.Id)).Status == "running", 60, "the job runs");

        // Another data folder, the same name: it would have ended node-x's running job as its own, left by a crash.
        var (code, stderr) = await cluster.RunWorkerToEndAsync("node-x", 1);

        Assert.Equal(1, code);
        Assert.Contains("runbox: cannot start: A worker named node-x is running on another data folder or host", stderr);
        var ended = await client.WaitEndedAsync(running.Id, 60);
        Assert.Equal("succeeded", ended.Status);
        Assert.Equal("working\ndone\n", ended.Stdout);
    }

    [SkippableFact]
    public async Task WorkerGivenADeadWorkersName_StartsOnceItsEntryStaysUnrefreshed_AndEndsItsJobs()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        var dead = await cluster.StartWorkerAsync("node-x", 1);
        using var client = cluster.Client(api);
        var lost = await client.SubmitOkAsync(ClusterApi.Python("import time\nprint('working', flush=True)\ntime.sleep(300)"));
        await ClusterApi.UntilAsync(async () => (await client.GetJobAsync(lost.Id)).Status == "running", 60, "the job runs");

        // Moved to another folder or host after a crash: its entry is fresh, but nobody refreshes it any more.
        await dead.KillHardAsync();
        await cluster.StartWorkerAsync("node-x", 1);

        var ended = await client.WaitEndedAsync(lost.Id, 30);
        Assert.Equal("error", ended.Status);
        Assert.Equal("worker lost", ended.Error);
        var after = await client.SubmitOkAsync(ClusterApi.Python("print('after')"));
        var afterJob = await client.WaitEndedAsync(after.Id, 60);
        Assert.Equal("succeeded", afterJob.Status);
        Assert.StartsWith("node-x/", afterJob.Worker);
    }

    [SkippableFact]
    public async Task ListenerConnectionsTerminated_WorkGoesOn()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        await cluster.StartWorkerAsync("node-a", 2);
        using var client = cluster.Client(api);
        // ?wait=true makes the API node listen too.
        Assert.Equal("succeeded", (await client.SubmitOkAsync(ClusterApi.Python("print('warm')"), wait: true)).Status);

        var terminated = await postgres.Server.TerminateAsync("runbox-node listener");

        Assert.True(terminated >= 2, $"expected the API's and the worker's LISTEN connections, terminated {terminated}");
        for (var i = 0; i < 3; i++)
        {
            var job = await client.SubmitOkAsync(ClusterApi.Python($"print('after {i}')"), wait: true);
            var ended = job.Status == "succeeded" ? job : await client.WaitEndedAsync(job.Id, 30);
            Assert.Equal("succeeded", ended.Status);
            Assert.Equal($"after {i}\n", ended.Stdout);
        }
    }

    [SkippableFact]
    public async Task PostgresRestarted_NodesRecover_AndRunNewJobs()
    {
        // A lease longer than the restart, so the job running through it keeps its lease.
        await using var cluster = new ClusterNodes(postgres, output, leaseSeconds: 15);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        await cluster.StartWorkerAsync("node-a", 2);
        using var client = cluster.Client(api);
        Assert.Equal("succeeded", (await client.SubmitOkAsync(ClusterApi.Python("print('before')"), wait: true)).Status);
        var through = await client.SubmitOkAsync(ClusterApi.Python("import time\nprint('start', flush=True)\ntime.sleep(4)\nprint('end')"));
        await ClusterApi.UntilAsync(async () => (await client.GetJobAsync(through.Id)).Status == "running", 60, "the job runs");

        await postgres.Server.RestartAsync();

        var after = await client.SubmitRetryingAsync(ClusterApi.Python("print('after the restart')"), 60);
        var afterJob = await client.WaitEndedRetryingAsync(after.Id, 60);
        Assert.Equal("succeeded", afterJob.Status);
        Assert.Equal("after the restart\n", afterJob.Stdout);
        var throughJob = await client.WaitEndedRetryingAsync(through.Id, 60);
        Assert.Equal("succeeded", throughJob.Status);
        Assert.Equal("start\nend\n", throughJob.Stdout);
    }

    [SkippableFact]
    public async Task PostgresDownForLongerThanALease_TheRunningJobGoesOnAndSucceeds()
    {
        // A failover can take longer than a lease: nobody could renew meanwhile, so no lease ran out for a worker's fault.
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        await cluster.StartWorkerAsync("node-a", 1);
        using var client = cluster.Client(api);
        var job = await client.SubmitOkAsync(ClusterApi.Python("import time\nprint('start', flush=True)\ntime.sleep(20)\nprint('end')"));
        await ClusterApi.UntilAsync(async () => (await client.GetJobAsync(job.Id)).Status == "running", 60, "the job runs");

        await postgres.Server.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(2 * ClusterNodes.ShortLease));
        await postgres.Server.StartAgainAsync();

        var ended = await client.WaitEndedRetryingAsync(job.Id, 90);
        Assert.True(ended.Status == "succeeded", $"{ended.Status}: {ended.Error}");
        Assert.Equal("start\nend\n", ended.Stdout);
    }

    [SkippableFact]
    public async Task PostgresDownForSeconds_TheRunningJobKeepsEveryLogLine()
    {
        await using var cluster = new ClusterNodes(postgres, output, leaseSeconds: 20);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        await cluster.StartWorkerAsync("node-a", 1);
        using var client = cluster.Client(api);
        var job = await client.SubmitOkAsync(ClusterApi.Python("import time\nfor i in range(10):\n    print(i, flush=True)\n    time.sleep(0.5)"));
        await ClusterApi.UntilAsync(async () => (await client.GetJobAsync(job.Id)).Status == "running", 60, "the job runs");

        // Down for a while, as a failover: the lines printed meanwhile must wait, not be dropped.
        await postgres.Server.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));
        await postgres.Server.StartAgainAsync();

        var ended = await client.WaitEndedRetryingAsync(job.Id, 60);
        Assert.Equal("succeeded", ended.Status);
        var logs = await (await client.GetAsync($"/api/v1/jobs/{job.Id}/logs")).JsonAsync();
        var texts = logs.GetProperty("lines").EnumerateArray().Select(line => line.GetProperty("text").GetString()).ToList();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"{i}"), texts);
    }
}
