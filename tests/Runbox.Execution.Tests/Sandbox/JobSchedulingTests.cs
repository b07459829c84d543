using System.Runtime.InteropServices;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using static Runbox.Execution.Tests.Sandbox.SandboxAssert;

namespace Runbox.Execution.Tests.Sandbox;

/// <summary>
/// How a job's processes sit in the kernel: every thread and child in the job's own cgroups (a standby joins them as
/// its one thread), and the job's code scheduled with the default slice (its init asks for a short one while the job runs).
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class JobSchedulingTests(SandboxFixture fixture)
{
    [SkippableFact]
    public async Task ThreadsAndChildren_AreInTheJobsCgroups()
    {
        fixture.RequireFullSandbox();
        var result = await fixture.Engine.RunAsync(new JobRequest
        {
            Script = """
                import subprocess, threading
                def groups(path):
                    with open(path) as f:
                        return sorted(line for line in f.read().splitlines() if "/runbox-" in line)
                main = groups("/proc/self/cgroup")
                seen = []
                thread = threading.Thread(target=lambda: seen.append(groups("/proc/thread-self/cgroup")))
                thread.start()
                thread.join()
                child = sorted(l for l in subprocess.run(["cat", "/proc/self/cgroup"], capture_output=True, text=True).stdout.splitlines() if "/runbox-" in l)
                print(len(main) > 0, main == seen[0] == child)
                print("\n".join(main))
                """,
        });
        Assert.Equal(JobStatus.Succeeded, result.Status);
        var lines = Stdout(result).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("True True", lines[0]);
        // Each hierarchy the engine uses places the job in a cgroup of its own, named for the job.
        Assert.All(lines.Skip(1), line => Assert.Contains("/job-", line));
    }

    [SkippableFact]
    public async Task JobCode_RunsWithTheDefaultSlice()
    {
        fixture.RequireFullSandbox();
        Requires.Component(RuntimeInformation.ProcessArchitecture == Architecture.X64, "the job reads sched_attr by x86-64's syscall number");
        var (standard, custom) = HostSlices();
        Requires.Component(custom == "100000", "this kernel has no per-process slices (Linux 6.12+): there is nothing to reset");
        var result = await fixture.Engine.RunAsync(new JobRequest { Script = ReadSlice });
        var fresh = await fixture.Engine.RunAsync(new JobRequest { Script = ReadSlice, Fresh = true });
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal(standard, Stdout(result).Trim());
        Assert.Equal(standard, Stdout(fresh).Trim());
    }

    // This process's slice in ns (sched_attr's sched_runtime for a normal process): the default, or the one it asked for.
    private const string ReadSlice = """
        import ctypes, struct
        def read_slice():
            attr = ctypes.create_string_buffer(56)
            assert ctypes.CDLL(None, use_errno=True).syscall(315, 0, attr, 56, 0) == 0
            return struct.unpack("IIQiIQQQII", attr.raw)[5]
        print(read_slice())
        """;

    /// <summary>A host process's slice as it starts, and once it asked for 0.1 ms.</summary>
    private static (string Standard, string Custom) HostSlices()
    {
        var psi = new System.Diagnostics.ProcessStartInfo("python3", ["-c", ReadSlice + """

            ctypes.CDLL(None).syscall(314, 0, struct.pack("IIQiIQQQII", 56, 0, 0, 0, 0, 100000, 0, 0, 0, 0), 0)
            print(read_slice())
            """]) { RedirectStandardOutput = true };
        using var probe = System.Diagnostics.Process.Start(psi)!;
        var lines = probe.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        probe.WaitForExit();
        return lines.Length == 2 ? (lines[0], lines[1]) : ("", "");
    }
}
