using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Engine;

/// <summary><see cref="IJobEngine.RunningJobs"/> and <see cref="IJobEngine.WaitingJobs"/>: a host sees its queue without counting.</summary>
public sealed class JobCountsTests : IDisposable
{
    private readonly WorkRootFolder _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Counts_FollowJobsThroughTheirSlots()
    {
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = _root.Path, Slots = 1 });
        Assert.Equal((0, 0), (engine.RunningJobs, engine.WaitingJobs));
        var first = await engine.StartAsync(new JobRequest { Script = "import time\nprint('started', flush=True)\ntime.sleep(600)" });
        await foreach (var _ in first.ReadLogsAsync())
        {
            break;
        }
        Assert.Equal((1, 0), (engine.RunningJobs, engine.WaitingJobs));

        var second = engine.StartAsync(new JobRequest { Script = "print('second')" });
        var third = engine.StartAsync(new JobRequest { Script = "print('third')" });
        Assert.Equal((1, 2), (engine.RunningJobs, engine.WaitingJobs));
        Assert.Equal(0, engine.FreeSlots);

        first.Cancel();
        Assert.Equal(JobStatus.Cancelled, (await first.Completion).Status);
        Assert.Equal(JobStatus.Succeeded, (await (await second).Completion).Status);
        Assert.Equal(JobStatus.Succeeded, (await (await third).Completion).Status);
        // A slot is free again a moment after the result, once its job's processes are gone.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (engine.RunningJobs > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal((0, 0), (engine.RunningJobs, engine.WaitingJobs));
        Assert.Equal(1, engine.FreeSlots);
    }

    [Fact]
    public async Task WaitingJobs_DropsWhenAWaitIsCancelled()
    {
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = _root.Path, Slots = 1 });
        var first = await engine.StartAsync(new JobRequest { Script = "import time\nprint('started', flush=True)\ntime.sleep(600)" });
        using var cancel = new CancellationTokenSource();

        var waiting = engine.StartAsync(new JobRequest { Script = "print(1)" }, cancel.Token);
        Assert.Equal(1, engine.WaitingJobs);
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, engine.WaitingJobs);
        Assert.Equal(1, engine.RunningJobs);
        first.Cancel();
    }
}
