using System.Diagnostics;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Testing;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Configuration;

/// <summary>What artifact saves cut short left in <c>&lt;data&gt;/tmp</c> goes at the next start; nothing else there does.</summary>
public sealed class LeftoverTempFilesTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Serve_RemovesTempFilesASaveCutShortLeft_AndKeepsOthersAndOnesBeingWritten()
    {
        using var data = new TempFolder();
        var tmp = Directory.CreateDirectory(Path.Combine(data.Path, "tmp")).FullName;
        // Named as a save names its file (a Guid's 32 hex digits, .tmp): what a server killed while saving leaves.
        var leftover = Path.Combine(tmp, Guid.NewGuid().ToString("N") + ".tmp");
        await File.WriteAllBytesAsync(leftover, new byte[4096]);
        var foreign = Path.Combine(tmp, "notes.tmp");
        await File.WriteAllTextAsync(foreign, "not Runbox's");
        // One a live process is still writing: it holds the file's lock, as a save does while it writes.
        var written = Path.Combine(tmp, Guid.NewGuid().ToString("N") + ".tmp");
        await File.WriteAllBytesAsync(written, [1]);
        using var writer = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c",
            "import fcntl, sys, time\nf = open(sys.argv[1], 'ab')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(300)", written])
        { RedirectStandardOutput = true })!;
        try
        {
            Assert.Equal("held", await writer.StandardOutput.ReadLineAsync());

            var port = ServeProcess.FreePort();
            await using (var serve = await ServeProcess.StartAsync(data.Path, port, output))
            {
                Assert.False(File.Exists(leftover));
                Assert.True(File.Exists(foreign));
                Assert.True(File.Exists(written));
                var said = serve.Output.ToList().FindIndex(line => line.Contains("Runbox.Server.Configuration.StoreInitializer[1010]", StringComparison.Ordinal));
                Assert.True(said >= 0, "no event 1010");
                Assert.Contains($"Removed 1 temporary file(s), 4096 bytes, that artifact saves cut short (a killed server) left in {tmp}", serve.Output[said + 1]);
            }

            // A start with nothing to remove says nothing.
            await using var again = await ServeProcess.StartAsync(data.Path, ServeProcess.FreePort(), output);
            Assert.DoesNotContain(again.Output, line => line.Contains("[1010]", StringComparison.Ordinal));
        }
        finally
        {
            writer.Kill();
            await writer.WaitForExitAsync();
        }
    }
}
