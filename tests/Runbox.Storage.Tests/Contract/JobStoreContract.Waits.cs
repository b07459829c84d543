namespace Runbox.Storage.Tests.Contract;

public abstract partial class JobStoreContract
{
    // Far longer than any wake-up should take: a wait that returns before it was woken, not timed out.
    private static readonly TimeSpan LongWait = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [SkippableFact]
    public async Task WaitForWork_Returns_WhenJobInserted()
    {
        await using var store = await NewStoreAsync();
        var wait = store.WaitForWorkAsync(LongWait);

        await store.InsertJobAsync(TestJobs.Queued());

        Assert.Same(wait, await Task.WhenAny(wait, Task.Delay(Patience)));
    }

    [SkippableFact]
    public async Task WaitForWork_ReturnsAfterMaxWait_WhenNothingHappens()
    {
        await using var store = await NewStoreAsync();

        var wait = store.WaitForWorkAsync(TimeSpan.FromMilliseconds(50));

        Assert.Same(wait, await Task.WhenAny(wait, Task.Delay(Patience)));
        await wait;
    }

    [SkippableFact]
    public async Task WaitForWork_Throws_WhenCancelled()
    {
        await using var store = await NewStoreAsync();
        using var cancel = new CancellationTokenSource();
        var wait = store.WaitForWorkAsync(LongWait, cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
    }

    [SkippableFact]
    public async Task WaitForJobChange_Returns_WhenLogsAppended()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        var wait = store.WaitForJobChangeAsync(job.Id, LongWait);

        await store.AppendLogsAsync(job.Id, [TestJobs.Line(1, "hello")]);

        Assert.Same(wait, await Task.WhenAny(wait, Task.Delay(Patience)));
    }

    [SkippableFact]
    public async Task WaitForJobChange_Returns_WhenCancelRequested()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        var wait = store.WaitForJobChangeAsync(job.Id, LongWait);

        await store.RequestCancelAsync(job.Id);

        Assert.Same(wait, await Task.WhenAny(wait, Task.Delay(Patience)));
    }
}
