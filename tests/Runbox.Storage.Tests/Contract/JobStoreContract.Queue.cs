using System.Collections.Concurrent;
using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Tests.Contract;

public abstract partial class JobStoreContract
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task Claim_TakesOldestQueuedJob_WhenSeveralWait()
    {
        await using var store = await NewStoreAsync();
        var newer = TestJobs.Queued(createdAt: TestJobs.Epoch.AddSeconds(2));
        var oldest = TestJobs.Queued(createdAt: TestJobs.Epoch);
        var middle = TestJobs.Queued(createdAt: TestJobs.Epoch.AddSeconds(1));
        await store.InsertJobAsync(newer);
        await store.InsertJobAsync(oldest);
        await store.InsertJobAsync(middle);

        await using var first = await store.ClaimAsync("worker-1", Lease);
        await using var second = await store.ClaimAsync("worker-1", Lease);
        await using var third = await store.ClaimAsync("worker-1", Lease);

        Assert.Equal([oldest.Id, middle.Id, newer.Id], new[] { first, second, third }.Select(claim => claim?.Job.Id));
        Assert.Null(await store.ClaimAsync("worker-1", Lease));
    }

    [SkippableFact]
    public async Task Claim_MarksJobRunning_WhenTaken()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);

        await using var claim = await store.ClaimAsync("worker-9", Lease);

        Assert.NotNull(claim);
        Assert.Equal(1, claim.Attempt);
        Assert.Equal(JobStatus.Running, claim.Job.Status);
        Assert.Equal("worker-9", claim.Job.Worker);
        Assert.Equal(Time.GetUtcNow(), claim.Job.StartedAt);
        var stored = await GetAsync(store, job.Id);
        Assert.Equal(JobStatus.Running, stored.Status);
        Assert.Equal(1, stored.Attempt);
        Assert.Equal("worker-9", stored.Worker);
    }

    [SkippableFact]
    public async Task Claim_TakesOnlyListedRuntimes_WhenRuntimesGiven()
    {
        await using var store = await NewStoreAsync();
        var py311 = TestJobs.Queued(runtime: "py311");
        var science = TestJobs.Queued(runtime: "science");
        await store.InsertJobAsync(py311);
        await store.InsertJobAsync(science);

        Assert.Null(await store.ClaimAsync("worker-1", Lease, ["other"]));
        Assert.Null(await store.ClaimAsync("worker-1", Lease, []));
        await using var claim = await store.ClaimAsync("worker-1", Lease, ["science", "default"]);

        Assert.Equal(science.Id, claim?.Job.Id);
        Assert.Equal(JobStatus.Queued, (await GetAsync(store, py311.Id)).Status);
    }

    [SkippableFact]
    public async Task Claim_NeverGivesSameJobTwice_WhenClaimersRace()
    {
        await using var store = await NewStoreAsync();
        for (var i = 0; i < 50; i++)
        {
            await store.InsertJobAsync(TestJobs.Queued());
        }
        var claimed = new ConcurrentBag<string>();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            while (await store.ClaimAsync($"worker-{worker}", Lease) is { } claim)
            {
                claimed.Add(claim.Job.Id);
                Assert.True(await claim.CompleteAsync(new JobOutcome { Status = JobStatus.Succeeded, FinishedAt = Time.GetUtcNow() }));
            }
        })));

        Assert.Equal(50, claimed.Count);
        Assert.Equal(50, claimed.Distinct().Count());
        Assert.Equal(50, (await store.CountJobsAsync())[JobStatus.Succeeded]);
    }

    [SkippableFact]
    public async Task Complete_StoresOutcome_WhenLeaseHeld()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await using var claim = await store.ClaimAsync("worker-1", Lease);
        var outcome = new JobOutcome
        {
            Status = JobStatus.TimedOut,
            Signal = 9,
            LimitExceeded = LimitKind.WallTime,
            Stdout = [1, 0, 2],
            StdoutTruncated = true,
            WallMs = 5000,
            FinishedAt = Time.GetUtcNow().AddSeconds(5),
        };

        Assert.True(await claim!.CompleteAsync(outcome));

        var stored = await GetAsync(store, job.Id);
        Assert.Equal(JobStatus.TimedOut, stored.Status);
        Assert.Equal(outcome.FinishedAt, stored.FinishedAt);
        // byte[] compares by reference in a record: compare the bytes apart.
        Assert.Equal(outcome with { Stdout = [], Stderr = [] }, stored.Outcome! with { Stdout = [], Stderr = [] });
        Assert.Equal(outcome.Stdout, stored.Outcome.Stdout);
        Assert.Empty(stored.Outcome.Stderr);
        Assert.False(await claim.CompleteAsync(outcome with { Status = JobStatus.Error }));
    }

    [SkippableFact]
    public async Task Renew_KeepsJob_WhenLeaseWouldHaveExpired()
    {
        await using var store = await NewStoreAsync();
        await store.InsertJobAsync(TestJobs.Queued());
        await using var claim = await store.ClaimAsync("worker-1", Lease);

        Time.Advance(TimeSpan.FromSeconds(20));
        Assert.True(await claim!.RenewAsync());
        Time.Advance(TimeSpan.FromSeconds(20));

        Assert.Empty(await store.RescueExpiredAsync(Time.GetUtcNow()));
        Assert.True(await claim.CompleteAsync(new JobOutcome { Status = JobStatus.Succeeded, FinishedAt = Time.GetUtcNow() }));
    }

    [SkippableFact]
    public async Task Complete_ReturnsFalseAndChangesNothing_WhenLeaseLost()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await using var claim = await store.ClaimAsync("worker-1", Lease);

        Time.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.Equal([job.Id], await store.RescueExpiredAsync(Time.GetUtcNow()));

        Assert.False(await claim!.RenewAsync());
        Assert.False(await claim.CompleteAsync(new JobOutcome { Status = JobStatus.Succeeded, ExitCode = 0, FinishedAt = Time.GetUtcNow() }));
        var stored = await GetAsync(store, job.Id);
        Assert.Equal(JobStatus.Error, stored.Status);
        Assert.Equal("worker lost", stored.Outcome?.Error);
    }

    [SkippableFact]
    public async Task Claim_OfARequeuedJob_StartsItWithoutTheLostAttemptsLinesAndArtifacts()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued(maxAttempts: 2);
        await store.InsertJobAsync(job);
        await using var lost = await store.ClaimAsync("worker-1", Lease);
        // The lost run's lines (seq 1 and 2) and an artifact it saved before its worker died.
        await store.AppendLogsAsync(job.Id, [TestJobs.Line(1, "lost run 1"), TestJobs.Line(2, "lost run 2")]);
        await store.SaveArtifactAsync(job.Id, "lost.txt", TestJobs.Bytes("lost"));
        Time.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.Equal([job.Id], await store.RescueExpiredAsync(Time.GetUtcNow()));

        await using var current = await store.ClaimAsync("worker-2", Lease);
        Assert.Equal(2, current?.Attempt);
        // The new run numbers its lines from 1 again: before, these were dropped as already stored.
        await store.AppendLogsAsync(job.Id, [TestJobs.Line(1, "second run")]);

        Assert.Equal(["second run"], (await store.ReadLogsAsync(job.Id, 0, 10)).Select(line => line.Text));
        Assert.Empty(await store.ListArtifactsAsync(job.Id));
    }

    [SkippableFact]
    public async Task Complete_IsFencedOnAttempt_WhenJobWasRequeuedAndClaimedAgain()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued(maxAttempts: 2);
        await store.InsertJobAsync(job);
        await using var lost = await store.ClaimAsync("worker-1", Lease);
        Time.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.Equal([job.Id], await store.RescueExpiredAsync(Time.GetUtcNow()));
        await using var current = await store.ClaimAsync("worker-2", Lease);
        Assert.Equal(2, current?.Attempt);

        Assert.False(await lost!.CompleteAsync(new JobOutcome { Status = JobStatus.Failed, FinishedAt = Time.GetUtcNow() }));
        await lost.ReleaseAsync();

        var stored = await GetAsync(store, job.Id);
        Assert.Equal(JobStatus.Running, stored.Status);
        Assert.Equal("worker-2", stored.Worker);
        Assert.True(await current!.CompleteAsync(new JobOutcome { Status = JobStatus.Succeeded, FinishedAt = Time.GetUtcNow() }));
    }

    [SkippableFact]
    public async Task RescueExpired_RequeuesThenEnds_AsAttemptsRunOut()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued(maxAttempts: 2);
        await store.InsertJobAsync(job);

        await using (await store.ClaimAsync("worker-1", Lease))
        {
            Time.Advance(Lease + TimeSpan.FromSeconds(1));
            Assert.Equal([job.Id], await store.RescueExpiredAsync(Time.GetUtcNow()));
        }
        var requeued = await GetAsync(store, job.Id);
        Assert.Equal(JobStatus.Queued, requeued.Status);
        Assert.Equal(1, requeued.Attempt);
        Assert.Null(requeued.Worker);

        await using (var second = await store.ClaimAsync("worker-2", Lease))
        {
            Assert.Equal(2, second?.Attempt);
            Time.Advance(Lease + TimeSpan.FromSeconds(1));
            Assert.Equal([job.Id], await store.RescueExpiredAsync(Time.GetUtcNow()));
        }
        var ended = await GetAsync(store, job.Id);
        Assert.Equal(JobStatus.Error, ended.Status);
        Assert.Equal(2, ended.Attempt);
        Assert.Equal("worker lost", ended.Outcome?.Error);
        Assert.Equal(Time.GetUtcNow(), ended.FinishedAt);
        Assert.Null(await store.ClaimAsync("worker-3", Lease));
    }

    [SkippableFact]
    public async Task RescueExpired_LeavesLiveLeases_WhenNotExpired()
    {
        await using var store = await NewStoreAsync();
        await store.InsertJobAsync(TestJobs.Queued());
        await store.InsertJobAsync(TestJobs.Queued());
        await using var claim = await store.ClaimAsync("worker-1", Lease);

        Assert.Empty(await store.RescueExpiredAsync(Time.GetUtcNow() + Lease - TimeSpan.FromSeconds(1)));
        Assert.Equal(JobStatus.Running, (await GetAsync(store, claim!.Job.Id)).Status);
    }

    [SkippableFact]
    public async Task Release_PutsJobBackUntouched_WhenClaimDisposedUnfinished()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);

        await using (var claim = await store.ClaimAsync("worker-1", Lease))
        {
            Assert.NotNull(claim);
        }

        var released = await GetAsync(store, job.Id);
        Assert.Equal(JobStatus.Queued, released.Status);
        Assert.Equal(0, released.Attempt);
        Assert.Null(released.Worker);
        await using var again = await store.ClaimAsync("worker-2", Lease);
        Assert.Equal(job.Id, again?.Job.Id);
        Assert.Equal(1, again?.Attempt);
    }
}
