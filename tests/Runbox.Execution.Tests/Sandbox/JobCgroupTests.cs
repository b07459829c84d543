using System.Diagnostics;
using Runbox.Execution.Jobs;
using Runbox.Execution.Sandbox;

namespace Runbox.Execution.Tests.Sandbox;

/// <summary>
/// The engine's last line: when a job's init did not kill everything the job started (it died, or a process got
/// past it), the engine empties the job's cgroup itself before the slot is reused, even while its processes fork.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class JobCgroupTests(SandboxFixture fixture)
{
    private const string Name = "job-storm";

    [SkippableFact]
    public void Empty_KillsEveryProcess_WhileTheGroupKeepsForking()
    {
        fixture.RequireFullSandbox();
        using var cgroups = Cgroups.Detect($"{Environment.ProcessId}-storm", []);
        Assert.NotNull(cgroups);
        foreach (var parent in cgroups.Parents)
        {
            Directory.CreateDirectory(Path.Combine(parent, Name));
        }
        foreach (var limit in cgroups.Limits(new JobLimits { Processes = 48, MemoryBytes = 256L * 1024 * 1024 }))
        {
            File.WriteAllText(Path.Combine(cgroups.Parents[limit.Parent], Name, limit.File), limit.Value);
        }
        var job = cgroups.Open(Name);
        var members = Path.Combine(cgroups.Parents[0], Name);
        // The shell joins the group or stops; then every process keeps starting another in the background: a storm held
        // to 48 processes by pids.max, which never stops forking while it is being killed.
        var join = string.Join(" && ", cgroups.Parents.Select(parent => $"echo $$ > {Path.Combine(parent, Name, "cgroup.procs")}"));
        using var storm = Process.Start(new ProcessStartInfo("bash", ["-c", $"{join} || exit 3; f() {{ while :; do (f &) 2>/dev/null; sleep 0.005; done; }}; f"])
        {
            RedirectStandardError = true,
        })!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            // One reading, kept: the storm's count comes and goes (each subshell forks and leaves), so a second reading
            // for the assert could be below the one that ended the wait.
            int count;
            while ((count = CgroupFiles.Processes(members).Count) < 16 && !storm.HasExited && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(10);
            }
            if (storm.HasExited)
            {
                // Read only once it has exited: while the storm runs, its processes hold stderr open.
                Assert.Fail("the storm did not start: " + storm.StandardError.ReadToEnd());
            }
            Assert.True(count >= 16, $"only {count} processes in the group");

            Assert.True(job.Empty(TimeSpan.FromSeconds(10)), $"{CgroupFiles.Processes(members).Count} processes left");

            Assert.True(job.IsEmpty);
            Assert.True(storm.WaitForExit(5000), "the storm's first shell is still running");
        }
        finally
        {
            Assert.True(job.RemoveAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult());
        }
    }

    /// <summary>
    /// A cgroup the kernel will not let go of at once (found by a soak on a loaded host: a job's last process took
    /// seconds to be torn down) is removed once it can be. Here a child cgroup keeps it busy (EBUSY) for 1.5 s; until
    /// 2026-12-05 the removal gave up after half a second and the cgroup stayed for as long as the engine ran.
    /// </summary>
    [SkippableFact]
    public async Task RemoveAsync_WaitsOutACgroupThatStaysBusyForSeconds()
    {
        fixture.RequireFullSandbox();
        using var cgroups = Cgroups.Detect($"{Environment.ProcessId}-busy", []);
        Assert.NotNull(cgroups);
        const string name = "job-busy";
        var children = cgroups.Parents.Select(parent => Path.Combine(parent, name, "held")).ToList();
        foreach (var child in children)
        {
            Directory.CreateDirectory(child);
        }
        var job = cgroups.Open(name);
        try
        {
            var removal = job.RemoveAsync(TimeSpan.FromSeconds(30));
            await Task.Delay(1500);
            Assert.All(cgroups.Parents, parent => Assert.True(Directory.Exists(Path.Combine(parent, name))));
            RemoveHeld(children);

            Assert.True(await removal.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.All(cgroups.Parents, parent => Assert.False(Directory.Exists(Path.Combine(parent, name)), $"{name} is still in {parent}"));
        }
        finally
        {
            RemoveHeld(children);
        }
    }

    /// <summary>One still busy when its patience runs out is reported (the engine logs it), and goes on a later try.</summary>
    [SkippableFact]
    public async Task RemoveAsync_SaysWhenTheCgroupOutlastsItsPatience()
    {
        fixture.RequireFullSandbox();
        using var cgroups = Cgroups.Detect($"{Environment.ProcessId}-stuck", []);
        Assert.NotNull(cgroups);
        const string name = "job-stuck";
        var children = cgroups.Parents.Select(parent => Path.Combine(parent, name, "held")).ToList();
        foreach (var child in children)
        {
            Directory.CreateDirectory(child);
        }
        var job = cgroups.Open(name);
        try
        {
            Assert.False(await job.RemoveAsync(TimeSpan.FromMilliseconds(300)));

            RemoveHeld(children);
            Assert.True(await job.RemoveAsync(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            RemoveHeld(children);
        }
    }

    /// <summary>Removes the child cgroups that kept a job's busy, so a failed test leaves nothing on the host.</summary>
    private static void RemoveHeld(IEnumerable<string> children)
    {
        foreach (var child in children.Where(Directory.Exists))
        {
            Directory.Delete(child);
        }
    }
}
