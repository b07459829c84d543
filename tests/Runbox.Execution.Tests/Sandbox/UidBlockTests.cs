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
}
