using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Tests.Contract;

/// <summary>
/// What every <see cref="IJobStore"/> must do, written only against the interface. Each backend subclasses it once;
/// each test gets a fresh, migrated store of its own.
/// </summary>
public abstract partial class JobStoreContract
{
    protected const long ArtifactLimitBytes = 1 << 20;

    protected ManualTimeProvider Time { get; } = new(TestJobs.Epoch.AddDays(1));

    /// <summary>A new, empty store not yet migrated. Skips (or fails under CI=true) when the backend is unavailable.</summary>
    protected abstract Task<IJobStore> CreateStoreAsync(TimeProvider time, long maxArtifactBytes);

    protected async Task<IJobStore> NewStoreAsync()
    {
        var store = await CreateStoreAsync(Time, ArtifactLimitBytes);
        await store.MigrateAsync();
        return store;
    }

    protected static async Task<JobRecord> GetAsync(IJobStore store, string id) =>
        await store.GetJobAsync(id) ?? throw new Xunit.Sdk.XunitException($"job {id} is missing");

    [SkippableFact]
    public async Task Migrate_IsHarmless_WhenRunAgain()
    {
        await using var store = await NewStoreAsync();
        await store.InsertJobAsync(TestJobs.Queued(id: "job_kept"));

        await store.MigrateAsync();

        Assert.True(await store.PingAsync());
        Assert.NotNull(await store.GetJobAsync("job_kept"));
    }

    [SkippableFact]
    public async Task CountJobs_CountsEveryStatus_WhenSomeHaveNone()
    {
        await using var store = await NewStoreAsync();
        await store.InsertJobAsync(TestJobs.Queued());
        await store.InsertJobAsync(TestJobs.Queued());
        var cancelled = TestJobs.Queued();
        await store.InsertJobAsync(cancelled);
        await store.RequestCancelAsync(cancelled.Id);

        var counts = await store.CountJobsAsync();

        Assert.Equal(2, counts[JobStatus.Queued]);
        Assert.Equal(1, counts[JobStatus.Cancelled]);
        Assert.Equal(0, counts[JobStatus.Running]);
        Assert.Equal(Enum.GetValues<JobStatus>().Length, counts.Count);
    }
}
