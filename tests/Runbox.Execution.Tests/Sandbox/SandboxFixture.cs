using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Native;

namespace Runbox.Execution.Tests.Sandbox;

[CollectionDefinition(Name)]
public sealed class SandboxCollection : ICollectionFixture<SandboxFixture>
{
    // One engine for every hostile test, and never two of them at once: the machine is small and shared.
    public const string Name = "Sandbox";
}

/// <summary>
/// An engine with the full sandbox, and a check, made once with a harmless job, that the sandbox really is in
/// force (PID namespace, slot uid, pids cgroup) before any hostile script is allowed to run.
/// </summary>
public sealed class SandboxFixture : IAsyncLifetime
{
    public const int FirstUid = 64000;

    public string WorkRoot { get; } = $"/tmp/rbs-{Environment.ProcessId}"; // short: the control socket path must fit 108 bytes

    public JobEngine Engine { get; private set; } = null!;

    /// <summary>Null when hostile jobs may run, else why not.</summary>
    public string? Missing { get; private set; }

    public static EngineOptions Options(string workRoot) => new()
    {
        WorkRoot = workRoot,
        Slots = 3,
        PoolSize = 1,
        DefaultLimits = new JobLimits
        {
            Timeout = TimeSpan.FromSeconds(5),
            CpuSeconds = 5,
            MemoryBytes = 128L * 1024 * 1024,
            Processes = 32,
            OutputBytes = 256 * 1024,
            FileSizeBytes = 8L * 1024 * 1024,
            OpenFiles = 64,
            DiskBytes = 64L * 1024 * 1024,
        },
    };

    public async Task InitializeAsync()
    {
        Engine = new JobEngine(Options(WorkRoot));
        if (Libc.GetEffectiveUserId() != 0)
        {
            Missing = "the sandbox needs root (namespaces, slot uids, cgroups)";
            return;
        }
        var probe = await Engine.RunAsync(new JobRequest
        {
            Script = "import os\nprint(os.getpid(), os.getuid())\nprint(open('/proc/self/cgroup').read())",
        });
        var output = Encoding.UTF8.GetString(probe.Stdout);
        var lines = output.Split('\n');
        var first = lines[0].Split(' ');
        if (probe.Status != JobStatus.Succeeded || first.Length != 2)
        {
            Missing = $"the probe job did not run: {probe.Status} {probe.Error} {Encoding.UTF8.GetString(probe.Stderr)}";
        }
        else if (first[0] != "2")
        {
            Missing = $"the job is not in its own PID namespace (pid {first[0]})";
        }
        else if (!int.TryParse(first[1], out var uid) || uid < FirstUid)
        {
            Missing = $"the job does not run as a slot uid (uid {first[1]})";
        }
        else if (!lines.Any(l => l.Contains(":pids:/", StringComparison.Ordinal) && l.Contains("runbox-", StringComparison.Ordinal))
                 && !(Engine.Capabilities.Cgroups == "v2" && lines.Any(l => l.StartsWith("0::", StringComparison.Ordinal) && l.Contains("runbox-", StringComparison.Ordinal))))
        {
            Missing = "the job is not limited by a pids cgroup";
        }
    }

    public async Task DisposeAsync()
    {
        await Engine.DisposeAsync();
        try
        {
            Directory.Delete(WorkRoot, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Skips a hostile test where the sandbox is not in force; in CI (CI=true) that is a failure instead.</summary>
    public void RequireFullSandbox()
    {
        if (Missing is null)
        {
            return;
        }
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail($"CI must run the sandbox suite as root with namespaces and cgroups: {Missing}");
        }
        Skip.If(true, Missing);
    }
}
