using Runbox.Storage.Notifications;

namespace Runbox.Storage.Tests.Notifications;

/// <summary>
/// The wake-ups of both stores. A long-running server waits on every job it streams, answers with <c>?wait=true</c>
/// or runs, most often after the job's last change: what those waits leave must go with them, or the server's memory
/// grows with every job it ever ran.
/// </summary>
public sealed class ChangeSignalsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task WaitForJob_LeavesNothing_WhenTheJobChangesNoMore()
    {
        var signals = new ChangeSignals();
        var waits = new List<Task>();
        for (var i = 0; i < 1000; i++)
        {
            // As a stream or ?wait=true does: its job ended (the last pulse) before its last wait began.
            var jobId = $"job-{i}";
            signals.PulseJob(jobId);
            waits.Add(signals.WaitForJobAsync(jobId, TimeSpan.FromMilliseconds(20), CancellationToken.None));
        }

        await Task.WhenAll(waits);

        Assert.Equal(0, signals.JobsWaitedOn);
    }

    [Fact]
    public async Task WaitForJob_LeavesNothing_WhenCancelled()
    {
        var signals = new ChangeSignals();
        using var cancel = new CancellationTokenSource();
        var wait = signals.WaitForJobAsync("job", TimeSpan.FromMinutes(1), cancel.Token);
        Assert.Equal(1, signals.JobsWaitedOn);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
        Assert.Equal(0, signals.JobsWaitedOn);
    }

    [Fact]
    public async Task WaitForJob_StillWakes_WhenAnotherWaiterOfTheJobGaveUp()
    {
        var signals = new ChangeSignals();
        var patient = signals.WaitForJobAsync("job", TimeSpan.FromMinutes(1), CancellationToken.None);
        await signals.WaitForJobAsync("job", TimeSpan.FromMilliseconds(10), CancellationToken.None);

        signals.PulseJob("job");

        Assert.Same(patient, await Task.WhenAny(patient, Task.Delay(Patience)));
        Assert.Equal(0, signals.JobsWaitedOn);
    }

    [Fact]
    public async Task PulseAll_WakesEveryJobWaiter_AndLeavesNothing()
    {
        var signals = new ChangeSignals();
        var waits = Enumerable.Range(0, 3).Select(i => signals.WaitForJobAsync($"job-{i}", TimeSpan.FromMinutes(1), CancellationToken.None)).ToList();

        signals.PulseAll();

        var all = Task.WhenAll(waits);
        Assert.Same(all, await Task.WhenAny(all, Task.Delay(Patience)));
        Assert.Equal(0, signals.JobsWaitedOn);
    }
}
