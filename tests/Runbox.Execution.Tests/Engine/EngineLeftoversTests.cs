using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Native;

namespace Runbox.Execution.Tests.Engine;

/// <summary>
/// What engines that died left under a work root (their folder, and the lock file beside it that a live engine holds)
/// is removed by the next engine on that root; what a live engine has is left alone, whatever pid its folder names.
/// </summary>
public sealed class EngineLeftoversTests : IDisposable
{
    private readonly WorkRootFolder _root = new();

    public void Dispose() => _root.Dispose();

    /// <summary>An engine's folder with a job's file in it, and its lock file (not held: its engine is gone).</summary>
    private string LeaveEngineFolder(int pid)
    {
        var folder = Path.Combine(_root.Path, $"engine-{pid}-{Guid.NewGuid():N}"[..($"engine-{pid}-".Length + 12)]);
        Directory.CreateDirectory(Path.Combine(folder, "jobs", "job-1"));
        File.WriteAllText(Path.Combine(folder, "jobs", "job-1", "left.txt"), "left");
        File.WriteAllText(folder + ".lock", "");
        return folder;
    }

    [Fact]
    public async Task NewEngine_RemovesTheFolderOfADeadEngine_ThatHadThisProcesssPid()
    {
        // A container restarted after a crash runs its program as the same pid (often 1) as the one that died.
        var dead = LeaveEngineFolder(Environment.ProcessId);

        await using (var engine = new JobEngine(new EngineOptions { WorkRoot = _root.Path }))
        {
            Assert.False(Directory.Exists(dead), "the dead engine's folder is still there");
            Assert.False(File.Exists(dead + ".lock"), "the dead engine's lock file is still there");
            Assert.Equal(JobStatus.Succeeded, (await engine.RunAsync(new JobRequest { Script = "print(1)" })).Status);
        }

        Assert.Empty(Directory.GetFileSystemEntries(_root.Path));
    }

    [Fact]
    public async Task NewEngine_LeavesTheFolderOfALiveEngine_WhosePidMeansNothingHere()
    {
        // An engine in another PID namespace sharing the work root (another container): its pid is none of ours, but
        // it holds its lock.
        var live = LeaveEngineFolder(999_999_999);
        using var held = Libc.TryLockFile(live + ".lock", create: false);
        Assert.NotNull(held);

        await using (var engine = new JobEngine(new EngineOptions { WorkRoot = _root.Path }))
        {
            Assert.True(File.Exists(Path.Combine(live, "jobs", "job-1", "left.txt")), "a live engine's job file was removed");
        }
        JobEngine.RemoveLeftovers(_root.Path);

        Assert.True(File.Exists(Path.Combine(live, "jobs", "job-1", "left.txt")), "a live engine's job file was removed");
    }

    [Fact]
    public async Task Engines_SharingARoot_LeaveEachOthersFolders_AndEachRemovesItsOwn()
    {
        await using var first = new JobEngine(new EngineOptions { WorkRoot = _root.Path });
        var running = await first.StartAsync(new JobRequest { Script = "import time\nprint('started', flush=True)\ntime.sleep(600)" });
        await foreach (var _ in running.ReadLogsAsync())
        {
            break;
        }

        await using (var second = new JobEngine(new EngineOptions { WorkRoot = _root.Path }))
        {
            Assert.Equal(JobStatus.Succeeded, (await second.RunAsync(new JobRequest { Script = "print(1)" })).Status);
        }
        JobEngine.RemoveLeftovers(_root.Path);

        Assert.False(running.Completion.IsCompleted, "the first engine's job ended");
        Assert.Equal(2, Directory.GetFileSystemEntries(_root.Path).Length); // the first engine's folder and its lock
        await first.DisposeAsync();
        Assert.Equal(JobStatus.Cancelled, (await running.Completion).Status);
        Assert.Empty(Directory.GetFileSystemEntries(_root.Path));
    }

    [Fact]
    public void RemoveLeftovers_RemovesALockFileWithoutAFolder_OfAnEngineThatDiedStarting()
    {
        Directory.CreateDirectory(_root.Path);
        var lockFile = Path.Combine(_root.Path, "engine-999999999-0123456789ab.lock");
        File.WriteAllText(lockFile, "");

        JobEngine.RemoveLeftovers(_root.Path);

        Assert.False(File.Exists(lockFile));
    }
}
