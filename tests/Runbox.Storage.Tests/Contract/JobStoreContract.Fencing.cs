using System.Text;
using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Tests.Contract;

/// <summary>A claim's log lines and artifacts are fenced on its lease, as its renewal and its result are.</summary>
public abstract partial class JobStoreContract
{
    [SkippableFact]
    public async Task ClaimWrites_AreRefused_WhenTheLeaseWasTakenOverByTheNextAttempt()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued(maxAttempts: 2);
        await store.InsertJobAsync(job);
        await using var stale = await store.ClaimAsync("worker-1", Lease);
        Assert.True(await stale!.AppendLogsAsync([TestJobs.Line(1, "lost run 1")]));
        Time.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.Equal([job.Id], await store.RescueExpiredAsync(Time.GetUtcNow()));
        await using var current = await store.ClaimAsync("worker-2", Lease);
        Assert.Equal(2, current?.Attempt);

        // The stalled worker wakes: before its lines and artifacts went in beside the new run's, or over them.
        Assert.False(await stale.AppendLogsAsync([TestJobs.Line(2, "lost run 2")]));
        Assert.False(await stale.SaveArtifactAsync("out.txt", TestJobs.Bytes("lost run")));
        Assert.True(await current!.AppendLogsAsync([TestJobs.Line(1, "second run 1")]));
        Assert.True(await current.SaveArtifactAsync("out.txt", TestJobs.Bytes("second run")));
        Assert.False(await stale.AppendLogsAsync([TestJobs.Line(2, "lost run 2"), TestJobs.Line(3, "lost run 3")]));
        Assert.False(await stale.SaveArtifactAsync("out.txt", TestJobs.Bytes("lost run")));
        Assert.False(await stale.SaveArtifactAsync("only-lost.txt", TestJobs.Bytes("lost run")));

        Assert.Equal(["second run 1"], (await store.ReadLogsAsync(job.Id, 0, 10)).Select(line => line.Text));
        Assert.Equal(["out.txt"], (await store.ListArtifactsAsync(job.Id)).Select(artifact => artifact.Name));
        Assert.Equal("second run", Encoding.UTF8.GetString(await ReadAllAsync(await store.OpenArtifactAsync(job.Id, "out.txt"))));
    }

    [SkippableFact]
    public async Task ClaimWrites_AreRefused_WhenTheJobEndedWorkerLost()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await using var stale = await store.ClaimAsync("worker-1", Lease);
        Time.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.Equal([job.Id], await store.RescueExpiredAsync(Time.GetUtcNow()));

        Assert.False(await stale!.AppendLogsAsync([TestJobs.Line(1, "too late")]));
        Assert.False(await stale.SaveArtifactAsync("out.txt", TestJobs.Bytes("too late")));

        Assert.Empty(await store.ReadLogsAsync(job.Id, 0, 10));
        Assert.Empty(await store.ListArtifactsAsync(job.Id));
        Assert.Equal("worker lost", (await GetAsync(store, job.Id)).Outcome?.Error);
    }

    [SkippableFact]
    public async Task ClaimWrites_AreRefused_WhenTheJobWasDeleted()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await using var claim = await store.ClaimAsync("worker-1", Lease);
        Assert.True(await store.DeleteJobAsync(job.Id));

        Assert.False(await claim!.AppendLogsAsync([TestJobs.Line(1, "after the delete")]));
        Assert.False(await claim.SaveArtifactAsync("out.txt", TestJobs.Bytes("after the delete")));

        Assert.Empty(await store.ReadLogsAsync(job.Id, 0, 10));
        Assert.Empty(await store.ListArtifactsAsync(job.Id));
    }

    [SkippableFact]
    public async Task ClaimAppend_AcceptsABatchStoredBefore_WhenRetriedAfterALostAnswer()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await using var claim = await store.ClaimAsync("worker-1", Lease);
        LogLine[] batch = [TestJobs.Line(1, "one"), TestJobs.Line(2, "two")];

        Assert.True(await claim!.AppendLogsAsync(batch));
        // Every line already stored: still the run's job, so not a refusal (which would stop the run).
        Assert.True(await claim.AppendLogsAsync(batch));
        Assert.True(await claim.AppendLogsAsync([]));

        Assert.Equal(["one", "two"], (await store.ReadLogsAsync(job.Id, 0, 10)).Select(line => line.Text));
    }

    [SkippableFact]
    public async Task ClaimWrites_AreAccepted_WhileTheLeaseIsRenewed()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await using var claim = await store.ClaimAsync("worker-1", Lease);
        Time.Advance(Lease - TimeSpan.FromSeconds(1));
        Assert.True(await claim!.RenewAsync());
        Time.Advance(Lease - TimeSpan.FromSeconds(1));
        Assert.Empty(await store.RescueExpiredAsync(Time.GetUtcNow()));

        Assert.True(await claim.AppendLogsAsync([TestJobs.Line(1, "line")]));
        Assert.True(await claim.SaveArtifactAsync("out.txt", TestJobs.Bytes("bytes")));
        Assert.True(await claim.CompleteAsync(new JobOutcome { Status = JobStatus.Succeeded, FinishedAt = Time.GetUtcNow() }));

        Assert.Equal(["line"], (await store.ReadLogsAsync(job.Id, 0, 10)).Select(line => line.Text));
        Assert.Equal(["out.txt"], (await store.ListArtifactsAsync(job.Id)).Select(artifact => artifact.Name));
    }
}
