using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Engine;

/// <summary>Cancelling through the token of <see cref="JobEngineExtensions.RunAsync"/>: a status, never an exception.</summary>
public sealed class JobCancellationTests : IAsyncLifetime
{
    private readonly WorkRootFolder _root = new();
    private JobEngine _engine = null!;

    public Task InitializeAsync()
    {
        _engine = new JobEngine(new EngineOptions { WorkRoot = _root.Path, Slots = 1 });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        _root.Dispose();
    }

    [Fact]
    public async Task RunAsync_EndsCancelled_WhenTheTokenIsCancelledAlready()
    {
        var result = await _engine.RunAsync(new JobRequest { Id = "never", Script = "print(1)" }, new CancellationToken(canceled: true));

        Assert.Equal(JobStatus.Cancelled, result.Status);
        Assert.Equal("never", result.Id);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task RunAsync_EndsCancelled_WhenCancelledWhileWaitingForASlot()
    {
        var busy = await _engine.StartAsync(new JobRequest { Script = "import time; print('started', flush=True); time.sleep(600)" });
        await foreach (var _ in busy.ReadLogsAsync())
        {
            break;
        }
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var result = await _engine.RunAsync(new JobRequest { Script = "print(1)" }, cancel.Token).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(JobStatus.Cancelled, result.Status);
        Assert.Equal("cancelled before a slot was free", result.Error);
        busy.Cancel();
        Assert.Equal(JobStatus.Cancelled, (await busy.Completion.WaitAsync(TimeSpan.FromSeconds(10))).Status);
        Assert.Equal(JobStatus.Succeeded, (await _engine.RunAsync(new JobRequest { Script = "print(1)" })).Status);
    }
}
