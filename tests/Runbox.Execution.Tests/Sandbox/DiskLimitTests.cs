using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using static Runbox.Execution.Tests.Sandbox.SandboxAssert;

namespace Runbox.Execution.Tests.Sandbox;

/// <summary>
/// SECURITY.md "Filling the disk": a job's working folder is a size-limited tmpfs, so filling it ends with ENOSPC
/// and <c>limit_exceeded: disk</c>, never with the host's disk full.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class DiskLimitTests(SandboxFixture fixture) : IDisposable
{
    private const long Mb = 1024 * 1024;

    private readonly string _host = Directory.CreateTempSubdirectory("rbs-disk-").FullName;

    public void Dispose() => Directory.Delete(_host, recursive: true);

    private static JobLimits Disk(long bytes) => new() { DiskBytes = bytes, Timeout = TimeSpan.FromSeconds(10) };

    [SkippableFact]
    public async Task WritingPastTheDiskLimit_FailsWithEnospcAndIsNamedDisk()
    {
        fixture.RequireFullSandbox();
        Assert.True(fixture.Engine.Capabilities.DiskLimit, string.Join("; ", fixture.Engine.Capabilities.Warnings));
        // Files of 1 MB, each far below the 8 MB file size limit: only the folder's total can stop them.
        var result = await RunWithCanaryAsync(fixture, new JobRequest
        {
            Script = """
                import sys
                for i in range(64):
                    try:
                        with open(f"part-{i}", "wb") as f:
                            f.write(b"x" * (1 << 20))
                    except OSError as e:
                        print(e.errno, i)
                        sys.exit(1)
                """,
            Limits = Disk(4 * Mb),
        });
        Assert.Equal(JobStatus.Failed, result.Status);
        Assert.Equal(LimitKind.Disk, result.LimitExceeded);
        var parts = Stdout(result).Trim().Split(' ');
        Assert.Equal("28", parts[0]); // ENOSPC
        Assert.InRange(int.Parse(parts[1]), 2, 4);
    }

    [SkippableFact]
    public async Task AMillionEmptyFiles_StopAtTheFolderInodesAndAreNamedDisk()
    {
        fixture.RequireFullSandbox();
        var result = await RunWithCanaryAsync(fixture, new JobRequest
        {
            Language = JobLanguage.Bash,
            Script = "for i in $(seq 1 1000000); do : > f$i || { echo stopped at $i; exit 1; }; done",
            Limits = Disk(1 * Mb) with { Timeout = TimeSpan.FromSeconds(30) },
        });
        Assert.Equal(JobStatus.Failed, result.Status);
        Assert.Equal(LimitKind.Disk, result.LimitExceeded);
        Assert.StartsWith("stopped at ", Stdout(result));
        Assert.Contains("No space left on device", Stderr(result));
    }

    [SkippableFact]
    public async Task AJobUnderTheDiskLimit_SeesItsInputsAndKeepsItsArtifacts()
    {
        fixture.RequireFullSandbox();
        var artifacts = Path.Combine(_host, "artifacts");
        var result = await RunWithCanaryAsync(fixture, new JobRequest
        {
            Script = """
                import os
                st = os.statvfs(".")
                print(st.f_blocks * st.f_frsize)
                data = open("input.txt").read()
                os.makedirs("sub")
                with open("sub/out.bin", "wb") as f:
                    f.write(b"y" * (2 << 20))
                with open("note.txt", "w") as f:
                    f.write(data.upper())
                """,
            Files = new Dictionary<string, byte[]> { ["input.txt"] = Encoding.UTF8.GetBytes("from the host") },
            ArtifactDirectory = artifacts,
            Limits = Disk(3 * Mb),
        });
        Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status} {result.Error} {Stderr(result)}");
        Assert.Equal(LimitKind.None, result.LimitExceeded);
        Assert.Equal($"{3 * Mb}\n", Stdout(result)); // the folder's size is the job's own limit
        Assert.Equal(["note.txt", "sub/out.bin"], result.Artifacts.Select(a => a.Name).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal("FROM THE HOST", await File.ReadAllTextAsync(Path.Combine(artifacts, "note.txt")));
        Assert.Equal(2 * Mb, new FileInfo(Path.Combine(artifacts, "sub", "out.bin")).Length);
    }

    [SkippableFact]
    public async Task EachJob_GetsItsOwnLimitInTheSameSlot()
    {
        fixture.RequireFullSandbox();
        // More jobs than slots, with sizes that differ: a slot's tmpfs is resized for each of its jobs.
        var sizes = new[] { 1 * Mb, 5 * Mb, 2 * Mb, 7 * Mb, 3 * Mb, 1 * Mb, 6 * Mb };
        var results = await Task.WhenAll(sizes.Select(size => fixture.Engine.RunAsync(new JobRequest
        {
            Script = "import os\nst = os.statvfs('.')\nprint(st.f_blocks * st.f_frsize, len(os.listdir('.')))",
            Limits = Disk(size),
        })));
        for (var i = 0; i < sizes.Length; i++)
        {
            Assert.True(results[i].Status == JobStatus.Succeeded, $"{results[i].Status} {results[i].Error} {Stderr(results[i])}");
            // Only its own script: nothing of the slot's previous job.
            Assert.Equal($"{sizes[i]} 1\n", Stdout(results[i]));
        }
    }

    [SkippableFact]
    public async Task TheSlotDisks_AreEmptiedAfterEachJobAndUnmountedWithTheEngine()
    {
        fixture.RequireFullSandbox();
        var workRoot = $"/tmp/rbd-{Environment.ProcessId}";
        var engine = new JobEngine(SandboxFixture.Options(workRoot) with { Slots = 2 });
        try
        {
            var result = await engine.RunAsync(new JobRequest
            {
                Language = JobLanguage.Bash,
                Script = "mkdir -p a/b && echo x > a/b/c && ln -s / root-link && echo done",
                Limits = Disk(2 * Mb),
            }).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status} {result.Error} {Stderr(result)}");
            var disks = Directory.GetDirectories(Directory.GetDirectories(workRoot, "engine-*").Single(), "disks").Single();
            Assert.Equal(2, MountsBeneath(disks).Count);
            // Emptied just after the result goes out (the caller need not wait for it), before the slot's next job.
            for (var i = 0; i < 250 && Directory.GetDirectories(disks).Any(slot => Directory.EnumerateFileSystemEntries(slot).Any()); i++)
            {
                await Task.Delay(20);
            }
            Assert.All(Directory.GetDirectories(disks), slot => Assert.Empty(Directory.EnumerateFileSystemEntries(slot)));
        }
        finally
        {
            await engine.DisposeAsync();
        }
        Assert.Empty(MountsBeneath(workRoot));
        Assert.Empty(Directory.EnumerateDirectories(workRoot, "engine-*"));
        Directory.Delete(workRoot);
    }

    [SkippableFact]
    public async Task ADeadEnginesMountedSlotDisks_AreUnmountedAndRemovedAtStart()
    {
        fixture.RequireFullSandbox();
        var workRoot = $"/tmp/rbl-{Environment.ProcessId}";
        var dead = await LeaveDeadEngineAsync(workRoot);
        var engine = new JobEngine(SandboxFixture.Options(workRoot) with { Slots = 1 });
        try
        {
            Assert.Empty(MountsBeneath(dead));
            Assert.False(Directory.Exists(dead));
        }
        finally
        {
            await engine.DisposeAsync();
            SlotMountCleanup(workRoot);
        }
    }

    [SkippableFact]
    public async Task RemoveLeftovers_UnmountsTheSlotDisksOfADeadEngineAndRemovesItsFolder()
    {
        fixture.RequireFullSandbox();
        var workRoot = $"/tmp/rbr-{Environment.ProcessId}";
        var dead = await LeaveDeadEngineAsync(workRoot);
        try
        {
            // For a work root no engine starts on again (a killed server's), without starting one.
            JobEngine.RemoveLeftovers(workRoot);

            Assert.Empty(MountsBeneath(dead));
            Assert.False(Directory.Exists(dead));
        }
        finally
        {
            SlotMountCleanup(workRoot);
        }
    }

    /// <summary>What an engine killed with its slot disks mounted leaves in <paramref name="workRoot"/>; returns its folder.</summary>
    private static async Task<string> LeaveDeadEngineAsync(string workRoot)
    {
        // Its pid (above any pid_max) names no live process.
        var folder = Path.Combine(workRoot, "engine-999999999-0123456789ab");
        var disk = Path.Combine(folder, "disks", "0");
        Directory.CreateDirectory(disk);
        Assert.Equal(0, await RunAsync("mount", "-t", "tmpfs", "-o", "size=1m", "runbox-disk", disk));
        await File.WriteAllTextAsync(Path.Combine(disk, "left.txt"), "left");
        return folder;
    }

    private static async Task<int> RunAsync(string program, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(program, args);
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return process.ExitCode;
    }

    /// <summary>If the engine failed to, the test unmounts what it mounted so the host is left clean.</summary>
    private static void SlotMountCleanup(string workRoot)
    {
        foreach (var mount in MountsBeneath(workRoot).OrderByDescending(m => m.Length))
        {
            using var umount = System.Diagnostics.Process.Start("umount", ["-l", mount]);
            umount.WaitForExit();
        }
        Directory.Delete(workRoot, recursive: true);
    }

    private static List<string> MountsBeneath(string directory) =>
        File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4]).Where(m => m.StartsWith(directory + "/", StringComparison.Ordinal)).ToList();
}
