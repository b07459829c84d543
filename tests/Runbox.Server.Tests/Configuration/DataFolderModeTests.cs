using System.Diagnostics;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Configuration;

/// <summary>What a server keeps of its jobs in its data folder is out of other local users' reach.</summary>
public sealed class DataFolderModeTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task TheDatabaseAndWhatJobsLeft_AreNotReadableByAnotherUser()
    {
        Skip.IfNot(Environment.UserName == "root" && File.Exists("/usr/bin/setpriv"), "reading as another user needs root and setpriv");
        await using var server = await RunningServer.StartAsync(output);
        Assert.Equal(0, await ExitCodeAsAnotherUserAsync("ls", server.DataDirectory)); // the folder itself: its names only
        foreach (var (program, path) in new[] { ("cat", "runbox.db"), ("cat", "runbox.db-wal"), ("ls", "scratch"), ("ls", "artifacts") })
        {
            Assert.True(await ExitCodeAsAnotherUserAsync(program, Path.Combine(server.DataDirectory, path)) != 0, $"another user could {program} {path}");
        }
    }

    private static async Task<int> ExitCodeAsAnotherUserAsync(string program, string path)
    {
        var start = new ProcessStartInfo("/usr/bin/setpriv") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "--", program, path])
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        await process.StandardOutput.ReadToEndAsync();
        await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode;
    }
}
