using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Engine;

/// <summary>
/// Disposing an engine, as a host embedding it does when it shuts down: running jobs end cancelled, jobs waiting for a
/// slot do not start, and nothing of the engine is left (processes, its folder under the work root).
/// </summary>
public sealed class EngineDisposalTests : IDisposable
{
    private readonly WorkRootFolder _root = new();

    public void Dispose() => _root.Dispose();

    private JobEngine NewEngine(int slots = 2) => new(new EngineOptions { WorkRoot = _root.Path, Slots = slots });

    [Fact]
    public async Task DisposeAsync_CancelsRunningJobs_AndLeavesNoProcessOrFolder()
    {
        var engine = NewEngine();
        var zygote = await engine.ZygotePidAsync("default");
        var marker = $"RUNBOX_DISPOSAL_{Guid.NewGuid():N}";
        var running = await engine.StartAsync(new JobRequest
        {
            Language = JobLanguage.Bash,
            Script = "setsid sleep 600 & sleep 600 & echo started; wait",
            Environment = new Dictionary<string, string> { [marker] = "1" },
        });
        await foreach (var _ in running.ReadLogsAsync())
        {
            break;
        }

        await engine.DisposeAsync();

        var result = await running.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(JobStatus.Cancelled, result.Status);
        Assert.False(Directory.Exists($"/proc/{zygote}"), $"the zygote {zygote} still runs");
        Assert.Empty(ProcessesWith(marker));
        Assert.Empty(Directory.GetFileSystemEntries(_root.Path));
    }

    [Fact]
    public async Task StartAsync_Throws_AfterDispose()
    {
        var engine = NewEngine();
        await engine.DisposeAsync();
        await engine.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => engine.StartAsync(new JobRequest { Script = "print(1)" }));
    }

    [Fact]
    public async Task DisposeAsync_EndsAJobWaitingForASlot_WithoutRunningIt()
    {
        using var folder = new WorkRootFolder();
        Directory.CreateDirectory(folder.Path);
        var engine = NewEngine(slots: 1);
        var running = await engine.StartAsync(new JobRequest { Script = "import time; print('started', flush=True); time.sleep(600)" });
        await foreach (var _ in running.ReadLogsAsync())
        {
            break;
        }
        var waiting = engine.StartAsync(new JobRequest { Script = "open('ran', 'w').write('1')", WorkingDirectory = folder.Path });
        Assert.False(waiting.IsCompleted);

        await engine.DisposeAsync();

        var result = await (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(JobStatus.Cancelled, result.Status);
        Assert.Equal("the engine was disposed before the job started", result.Error);
        Assert.False(File.Exists(Path.Combine(folder.Path, "ran")), "the waiting job ran");
    }

    [Fact]
    public async Task DisposeAsync_EndsAJobStartedJustBefore_WhileItsFolderIsBeingWritten_AndLeavesNothing()
    {
        var engine = NewEngine();
        await engine.WarmUpAsync("default");
        // Thousands of input files: the job is still writing its folder, between its slot and its start, as the
        // engine is disposed.
        var files = Enumerable.Range(0, 5000).ToDictionary(i => $"data/{i}.txt", i => new byte[] { (byte)'x' });
        files["main.py"] = "open('ran', 'w').write('1')"u8.ToArray();
        var execution = await engine.StartAsync(new JobRequest { Files = files });

        await engine.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        var result = await execution.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(JobStatus.Cancelled, result.Status);
        Assert.Equal("the engine was disposed before the job started", result.Error);
        Assert.Empty(Directory.GetFileSystemEntries(_root.Path));
        Assert.DoesNotContain(_root.Path, File.ReadAllText("/proc/self/mounts"));
    }

    [Fact]
    public async Task DisposeAsync_EndsEveryJobStartedAsItBegins_WithoutAHangOrAProcessLeft()
    {
        // A job is between taking its slot and being known to the engine for a few microseconds: disposing right after
        // StartAsync returns lands there often enough in ten tries.
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var engine = NewEngine();
            await engine.WarmUpAsync("default");
            var marker = $"RUNBOX_DISPOSAL_{Guid.NewGuid():N}";
            var execution = await engine.StartAsync(new JobRequest
            {
                Script = "import time\nprint('started', flush=True)\ntime.sleep(600)",
                Environment = new Dictionary<string, string> { [marker] = "1" },
            });

            await engine.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

            var result = await execution.Completion.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(result.Status == JobStatus.Cancelled, $"attempt {attempt}: {result.Status} ({result.Error})");
            Assert.Empty(ProcessesWith(marker));
            Assert.Empty(Directory.GetFileSystemEntries(_root.Path));
        }
    }

    [Fact]
    public async Task DisposeAsync_StopsAZygoteThatIsStillStarting()
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var engine = NewEngine();
            // The job's runtime has no zygote yet: it is starting as the engine is disposed.
            var execution = await engine.StartAsync(new JobRequest { Script = "print(1)" });

            await engine.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

            var result = await execution.Completion.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(result.Status == JobStatus.Cancelled || result.Status == JobStatus.Succeeded, $"attempt {attempt}: {result.Status} ({result.Error})");
            // A zygote's command line names the engine's folder under the work root.
            await Task.Delay(200);
            Assert.Empty(ProcessesNaming(_root.Path));
            Assert.Empty(Directory.GetFileSystemEntries(_root.Path));
        }
    }

    private static List<string> ProcessesNaming(string path)
    {
        var found = new List<string>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(directory), out _) && File.ReadAllText(Path.Combine(directory, "cmdline")).Contains(path, StringComparison.Ordinal))
                {
                    found.Add(Path.GetFileName(directory));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    /// <summary>Processes whose environment holds the marker: only a job's can.</summary>
    private static List<string> ProcessesWith(string marker)
    {
        var found = new List<string>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(directory), out _) && File.ReadAllText(Path.Combine(directory, "environ")).Contains(marker, StringComparison.Ordinal))
                {
                    found.Add(Path.GetFileName(directory));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read (then not a job's of this engine either).
            }
        }
        return found;
    }
}
