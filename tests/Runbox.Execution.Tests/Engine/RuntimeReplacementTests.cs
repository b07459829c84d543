using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;

namespace Runbox.Execution.Tests.Engine;

/// <summary>What happens to running jobs when the runtime manager replaces or removes their runtime.</summary>
public sealed class RuntimeReplacementTests : IDisposable
{
    // xunit makes an instance per test and disposes it after the test, so after the test's engine.
    private readonly WorkRootFolder _root = new();

    private string Root() => _root.Path;

    public void Dispose() => _root.Dispose();

    private static RuntimeDefinition Runtime(params string[] preload) =>
        new() { Name = "r", PythonPath = InterpreterLocator.ResolvePython(), Preload = preload };

    [Fact]
    public async Task SetRuntime_LetsRunningJobFinishOnOldZygote_WhileNewJobsGetTheNewPreloads()
    {
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = Root(), Slots = 2, Runtimes = [Runtime()] });
        var running = await engine.StartAsync(new JobRequest { Runtime = "r", Script = "import sys, time\nprint('up', flush=True)\ntime.sleep(1)\nprint('fractions' in sys.modules)" });
        await foreach (var _ in running.ReadLogsAsync())
        {
            break;
        }

        engine.SetRuntime(Runtime("fractions"));
        var fresh = await engine.RunAsync(new JobRequest { Runtime = "r", Script = "import sys; print('fractions' in sys.modules)" });
        var old = await running.Completion.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(JobStatus.Succeeded, old.Status);
        Assert.Equal("up\nFalse\n", Encoding.UTF8.GetString(old.Stdout));
        Assert.Equal("True\n", Encoding.UTF8.GetString(fresh.Stdout));
    }

    [Fact]
    public async Task RemoveRuntime_CancelsItsRunningJobs_InsteadOfLeavingThemUnreachable()
    {
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = Root(), Slots = 2, Runtimes = [Runtime()] });
        var running = await engine.StartAsync(new JobRequest { Runtime = "r", Script = "import time\nprint('up', flush=True)\ntime.sleep(60)" });
        await foreach (var _ in running.ReadLogsAsync())
        {
            break;
        }

        await engine.RemoveRuntimeAsync("r").WaitAsync(TimeSpan.FromSeconds(15));
        var result = await running.Completion.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(JobStatus.Cancelled, result.Status);
    }

    [SkippableFact]
    public async Task RemoveRuntime_LeavesNoCgroupOfItsZygote()
    {
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = Root(), Slots = 2, Runtimes = [Runtime()] });
        var cgroups = engine.Plan.Cgroups;
        Requires.Component(cgroups is not null, "no cgroups here (root and a cgroup hierarchy are needed)");
        // As a server does over weeks: the runtime installed into (a new zygote), or deleted and made again, now and then.
        for (var round = 0; round < 3; round++)
        {
            Assert.Equal(JobStatus.Succeeded, (await engine.RunAsync(new JobRequest { Runtime = "r", Script = "print(1)" })).Status);
            await engine.RemoveRuntimeAsync("r").WaitAsync(TimeSpan.FromSeconds(15));
            engine.SetRuntime(Runtime());
        }

        // No zygote runs now: nothing of the three it had may stay in any hierarchy.
        Assert.Empty(await CgroupsLeftAsync(cgroups.Parents, keep: _ => false));
    }

    [SkippableFact]
    public async Task SetRuntime_LeavesNoCgroupOfTheReplacedZygote()
    {
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = Root(), Slots = 2, Runtimes = [Runtime()] });
        var cgroups = engine.Plan.Cgroups;
        Requires.Component(cgroups is not null, "no cgroups here (root and a cgroup hierarchy are needed)");
        for (var round = 0; round < 3; round++)
        {
            Assert.Equal(JobStatus.Succeeded, (await engine.RunAsync(new JobRequest { Runtime = "r", Script = "print(1)" })).Status);
            engine.SetRuntime(Runtime());
        }
        Assert.Equal(JobStatus.Succeeded, (await engine.RunAsync(new JobRequest { Runtime = "r", Script = "print(1)" })).Status);
        var current = await engine.ZygotePidAsync("r");

        // The zygote in use keeps its standbys' cgroups; the three it replaced keep none.
        Assert.Empty(await CgroupsLeftAsync(cgroups.Parents, keep: name => name.StartsWith($"pool-{current}-", StringComparison.Ordinal)));
    }

    /// <summary>The engine's cgroups but those <paramref name="keep"/> accepts, once they stopped going (10 s at most).</summary>
    private static async Task<List<string>> CgroupsLeftAsync(IReadOnlyList<string> parents, Func<string, bool> keep)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var left = parents.SelectMany(Directory.EnumerateDirectories).Where(c => !keep(Path.GetFileName(c))).ToList();
            if (left.Count == 0 || DateTime.UtcNow > deadline)
            {
                return left;
            }
            await Task.Delay(100);
        }
    }
}
