using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Sandbox;

public sealed class UidBlockTests
{
    [SkippableFact]
    public async Task Engines_RunJobsAsDifferentUids_WhenTwoShareAHost()
    {
        Requires.Component(Native.Libc.GetEffectiveUserId() == 0, "separate job uids need root");
        var root = Path.Combine(Path.GetTempPath(), "rbu-" + Environment.ProcessId);
        try
        {
            await using var first = new JobEngine(new EngineOptions { WorkRoot = root, Slots = 2 });
            await using var second = new JobEngine(new EngineOptions { WorkRoot = root, Slots = 2 });
            var request = new JobRequest { Script = "import os\nprint(os.getuid())" };
            var a = Encoding.UTF8.GetString((await first.RunAsync(request)).Stdout).Trim();
            var b = Encoding.UTF8.GetString((await second.RunAsync(request)).Stdout).Trim();
            Assert.NotEqual("", a);
            Assert.NotEqual(a, b);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [SkippableFact]
    public async Task AUidCountBelowSlots_IsWarned_AsSlotsSharingUids()
    {
        Requires.Component(Native.Libc.GetEffectiveUserId() == 0, "separate job uids need root");
        using var root = new WorkRootFolder();

        await using var engine = new JobEngine(new EngineOptions { WorkRoot = root.Path, Slots = 4, Sandbox = new SandboxOptions { UidCount = 2 } });

        // The warning said only that another engine's jobs shared them, while slots 0 and 2 of this one run as one uid.
        Assert.Contains(engine.Capabilities.Warnings, w => w.StartsWith("Sandbox.UidCount (2) is below Slots (4): jobs of different slots run as the same uid", StringComparison.Ordinal));
        Assert.False(engine.Capabilities.FullyIsolated);
    }
}
