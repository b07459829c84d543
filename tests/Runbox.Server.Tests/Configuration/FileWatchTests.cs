using System.Diagnostics;
using System.Globalization;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Configuration;

/// <summary>
/// A server runs from its data folder (deploy/'s systemd units: <c>WorkingDirectory=/var/lib/runbox</c>) or from the
/// folder above it (<c>./runbox serve</c> with <c>./runbox-data</c>). Nothing it keeps there may cost an inotify watch:
/// the host's limit on them is shared by all of root's programs, and kept jobs' folders only ever grow in number.
/// </summary>
public sealed class FileWatchTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Server_WatchesNoFolderOfItsDataFolder_WhenRunFromIt()
    {
        using var data = new TempFolder();
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["contentRoot"] = data.Path }, data);
        for (var i = 0; i < 5; i++)
        {
            var job = await server.Admin.SubmitOkAsync(new JobSubmission
            {
                Script = "import os\nos.makedirs('out/deep', exist_ok=True)\nopen('out/deep/report.txt', 'w').write('42')",
            }, wait: true);
            Assert.Equal("succeeded", job.Status);
        }

        var folders = await InodesAsync(Directory.GetDirectories(data.Path, "*", SearchOption.AllDirectories).Append(data.Path));
        var watched = WatchedInodes().Where(folders.ContainsKey).Select(inode => folders[inode]).ToList();

        Assert.True(watched.Count == 0, $"{watched.Count} inotify watches on the data folder's folders, such as {string.Join(", ", watched.Take(5))}");
    }

    /// <summary>The inode of every folder given (stat, since .NET does not tell inodes).</summary>
    private static async Task<Dictionary<ulong, string>> InodesAsync(IEnumerable<string> folders)
    {
        var info = new ProcessStartInfo("stat") { RedirectStandardOutput = true };
        foreach (var arg in new[] { "-c", "%i %n", "--" }.Concat(folders))
        {
            info.ArgumentList.Add(arg);
        }
        using var stat = Process.Start(info)!;
        var lines = (await stat.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await stat.WaitForExitAsync();
        return lines.Select(l => l.Split(' ', 2)).ToDictionary(p => ulong.Parse(p[0], CultureInfo.InvariantCulture), p => p[1]);
    }

    /// <summary>The inodes this process (the server's, in these tests) has an inotify watch on: "inotify wd:1 ino:1a2b sdev:...".</summary>
    private static IEnumerable<ulong> WatchedInodes()
    {
        foreach (var fdinfo in Directory.EnumerateFiles("/proc/self/fdinfo"))
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(fdinfo);
            }
            catch (IOException)
            {
                continue; // closed meanwhile
            }
            foreach (var line in lines.Where(l => l.StartsWith("inotify ", StringComparison.Ordinal)))
            {
                var ino = line.Split(' ').First(f => f.StartsWith("ino:", StringComparison.Ordinal))[4..];
                yield return ulong.Parse(ino, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
        }
    }
}
