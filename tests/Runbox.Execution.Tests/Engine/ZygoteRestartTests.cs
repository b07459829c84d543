using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Engine;

public sealed class ZygoteRestartTests
{
    [Fact]
    public async Task RunAsync_EndsInFlightJobAsError_AndRestartsZygote_WhenZygoteDies()
    {
        using var root = new WorkRootFolder();
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = root.Path, Slots = 2 });
        var running = await engine.StartAsync(new JobRequest { Script = "import time\nprint('up')\ntime.sleep(60)" });
        await foreach (var _ in running.ReadLogsAsync())
        {
            break;
        }
        var zygote = await engine.ZygotePidAsync("default");
        System.Diagnostics.Process.GetProcessById(zygote).Kill();
        var lost = await running.Completion.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(JobStatus.Error, lost.Status);
        Assert.Contains("zygote", lost.Error);

        var after = await engine.RunAsync(new JobRequest { Script = "print('alive again')" });
        Assert.Equal(JobStatus.Succeeded, after.Status);
        Assert.Equal("alive again\n", Encoding.UTF8.GetString(after.Stdout));
        Assert.NotEqual(zygote, await engine.ZygotePidAsync("default"));
    }

    [Fact]
    public async Task Zygote_OutlivesSignalsMeantForItsProcessGroup_SoRunningJobsFinish()
    {
        using var root = new WorkRootFolder();
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = root.Path, Slots = 2 });
        var running = await engine.StartAsync(new JobRequest { Script = "import time\nprint('up', flush=True)\ntime.sleep(1)\nprint('done')" });
        await foreach (var _ in running.ReadLogsAsync())
        {
            break;
        }
        var zygote = await engine.ZygotePidAsync("default");

        // What Ctrl-C at a terminal, a closed terminal or `kill -- -PGID` send to the engine's whole process group.
        foreach (var signal in new[] { 2, 15, 1 })
        {
            Runbox.Execution.Native.Libc.Kill(zygote, signal);
        }
        var finished = await running.Completion.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(JobStatus.Succeeded, finished.Status);
        Assert.Equal("up\ndone\n", Encoding.UTF8.GetString(finished.Stdout));
        Assert.Equal(zygote, await engine.ZygotePidAsync("default"));
    }
}
