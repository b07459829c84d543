using Runbox.Testing;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Configuration;

/// <summary>What a server keeps of its jobs in its data folder is out of other local users' reach.</summary>
public sealed class DataFolderModeTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task TheDatabaseAndWhatJobsLeft_AreNotReadableByAnotherUser()
    {
        OtherUser.Require();
        await using var server = await RunningServer.StartAsync(output);
        Assert.Equal(0, await OtherUser.ExitCodeAsync("ls", server.DataDirectory)); // the folder itself: its names only
        foreach (var (program, path) in new[] { ("cat", "runbox.db"), ("cat", "runbox.db-wal"), ("ls", "scratch"), ("ls", "artifacts") })
        {
            Assert.True(await OtherUser.ExitCodeAsync(program, Path.Combine(server.DataDirectory, path)) != 0, $"another user could {program} {path}");
        }
    }
}
