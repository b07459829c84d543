using System.Text.Json;

namespace Runbox.Cli.Tests;

/// <summary>Every client command against a server behind a reverse proxy at a path prefix (http://host/runbox/).</summary>
public sealed class ServerPathPrefixTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    [Theory]
    [InlineData("")]
    [InlineData("/")]
    public async Task ClientCommands_KeepThePathPrefix_OfTheServerAddress(string trailing)
    {
        await using var proxy = await PrefixProxy.StartAsync(fixture.Server);
        var server = proxy.Address + trailing;
        var script = Path.Combine(fixture.DataDirectory, "prefixed.py");
        await File.WriteAllTextAsync(script, "print('through the proxy')\nopen('left.txt', 'w').write('x')\n");

        var run = await RunAsync(server, "run", script);
        var detached = await RunAsync(server, "run", script, "--detach");
        var id = detached.Stdout.Trim();
        var get = await RunAsync(server, "jobs", "get", id);
        var logs = await RunAsync(server, "jobs", "logs", id, "-f");
        var list = await RunAsync(server, "jobs", "list", "--json");
        var artifacts = await RunAsync(server, "jobs", "artifacts", id);
        var keys = await RunAsync(server, "keys", "list");
        var runtimes = await RunAsync(server, "runtimes", "list");
        var delete = await RunAsync(server, "jobs", "delete", id);

        Assert.Equal((0, "through the proxy\n"), (run.ExitCode, run.Stdout));
        Assert.Equal(0, detached.ExitCode);
        Assert.Equal("succeeded", JsonDocument.Parse(get.Stdout).RootElement.GetProperty("status").GetString());
        Assert.Equal((0, "through the proxy\n"), (logs.ExitCode, logs.Stdout));
        Assert.Contains(id, list.Stdout);
        Assert.Contains("left.txt", artifacts.Stdout);
        Assert.Equal(0, keys.ExitCode);
        Assert.Contains("default", runtimes.Stdout);
        Assert.Equal((0, $"{id} deleted\n"), (delete.ExitCode, delete.Stdout));
    }

    [Fact]
    public async Task ClientCommand_ExitsWith2AskingWhetherTheAddressIsRight_WhenThePrefixIsWrong()
    {
        var server = fixture.Server.TrimEnd('/') + "/nosuchprefix";

        var (code, stdout, stderr) = await RunAsync(server, "jobs", "list");

        Assert.Equal((2, ""), (code, stdout));
        Assert.Equal($"runbox: nothing at {server}/api/v1/jobs (HTTP 404): is {server}/ a Runbox server's address? (--server or $RUNBOX_SERVER)\n", stderr);
    }

    /// <summary>The CLI with the admin key of the fixture's data folder, against <paramref name="server"/>.</summary>
    private Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string server, params string[] args) =>
        RunboxProcess.RunAsync(null, [.. args, "--server", server, "--data", fixture.DataDirectory], TimeSpan.FromSeconds(90));
}
