using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Native;

namespace Runbox.Execution.Tests.Engine;

/// <summary>
/// Jobs sent straight to the ready inits a zygote offers the engine, and what happens when an offered init is gone
/// before its job reaches it.
/// </summary>
public sealed class OfferedInitTests
{
    private const int SIGSTOP = 19;
    private const int SIGCONT = 18;

    [SkippableFact]
    public async Task RunAsync_GoesToTheZygote_WhenEveryOfferedInitDiedUnseen()
    {
        // Killing an init ends its standby with it only where the init is pid 1 of a PID namespace.
        Requires.Component(Libc.GetEffectiveUserId() == 0, "PID namespaces need root");
        using var root = new WorkRootFolder();
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = root.Path, Slots = 2, PoolSize = 2 });
        var first = await engine.RunAsync(new JobRequest { Script = "print('first')" });
        Assert.Equal(JobStatus.Succeeded, first.Status);
        var zygote = await engine.ZygotePidAsync("default");
        await WaitUntilAsync(() => engine.OffersAsync("default").Result == 2);
        var inits = Children(zygote);

        // The zygote is stopped, so it cannot withdraw the offers of the inits killed meanwhile: the engine still
        // holds them when the job comes, and must find out they are dead rather than lose the job.
        Libc.Kill(zygote, SIGSTOP);
        try
        {
            foreach (var init in inits)
            {
                Libc.Kill(init, Libc.SIGKILL);
            }
            await WaitUntilAsync(() => inits.All(IsGone));
            var job = await engine.StartAsync(new JobRequest { Script = "print('after the inits died')" });
            await Task.Delay(200);
            Libc.Kill(zygote, SIGCONT);
            var result = await job.Completion.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status}: {result.Error}");
            Assert.Equal("after the inits died\n", Encoding.UTF8.GetString(result.Stdout));
        }
        finally
        {
            Libc.Kill(zygote, SIGCONT);
        }
        var next = await engine.RunAsync(new JobRequest { Script = "print('and on')" });
        Assert.Equal("and on\n", Encoding.UTF8.GetString(next.Stdout));
    }

    [Fact]
    public async Task RunAsync_RunsJobsThroughTheZygote_WhenInitsAreNotOffered()
    {
        using var root = new WorkRootFolder();
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = root.Path, Slots = 2, OfferInits = false });
        for (var i = 0; i < 3; i++)
        {
            var result = await engine.RunAsync(new JobRequest { Script = $"print({i} * 7)" });
            Assert.Equal(JobStatus.Succeeded, result.Status);
            Assert.Equal($"{i * 7}\n", Encoding.UTF8.GetString(result.Stdout));
        }
    }

    [Fact]
    public async Task AfterABurst_TheZygoteKeepsPoolSizeInitsInAll_OfferedOrNot()
    {
        using var root = new WorkRootFolder();
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = root.Path, Slots = 6, PoolSize = 2 });
        // Six jobs at once: the zygote makes inits for those beyond the two offered.
        var burst = Enumerable.Range(0, 6).Select(_ => engine.RunAsync(new JobRequest { Script = "import time; time.sleep(0.5)" })).ToList();
        Assert.All(await Task.WhenAll(burst), result => Assert.Equal(JobStatus.Succeeded, result.Status));
        var zygote = await engine.ZygotePidAsync("default");
        Assert.True(Children(zygote).Count > 2, "the burst made no inits beyond the pool");

        // Inits beyond the pool leave after 10 s idle; the offered ones count towards the pool.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Children(zygote).Count > 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        Assert.Equal(2, Children(zygote).Count);
        Assert.Equal(2, await engine.OffersAsync("default"));
        var after = await engine.RunAsync(new JobRequest { Script = "print('still served')" });
        Assert.Equal("still served\n", Encoding.UTF8.GetString(after.Stdout));
    }

    private static List<int> Children(int pid) => Directory.EnumerateDirectories($"/proc/{pid}/task")
        .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Select(int.Parse).ToList();

    // A killed init stays a zombie while its parent, the stopped zygote, cannot reap it; its sockets are closed.
    private static bool IsGone(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting");
            await Task.Delay(20);
        }
    }
}
