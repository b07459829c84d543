using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Runbox.Cli.Tests;

/// <summary>How <c>runbox</c> answers a command line it cannot use, before any command runs.</summary>
public sealed class CommandLineTests
{
    private static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string line) =>
        RunboxProcess.RunAsync(null, line.Split(' '), TimeSpan.FromSeconds(60));

    [Theory]
    [InlineData("jobs list --limit 3 --limit 4", "Option '--limit' expects a single argument but 2 were provided.", "runbox jobs list")]
    [InlineData("jobs list --limt 3", "Unrecognized command or argument '--limt'.", "runbox jobs list")]
    [InlineData("exec script.py --timeout abc", "--timeout must be a number, not 'abc'", "runbox exec")]
    [InlineData("run script.py --memory 1.5", "--memory must be a whole number, not '1.5'", "runbox run")]
    [InlineData("jobs list --limit abc", "--limit must be a whole number, not 'abc'", "runbox jobs list")]
    [InlineData("jobs list --limit 0", "--limit must be between 1 and 200, not 0", "runbox jobs list")]
    [InlineData("serve --workers two", "--workers must be a whole number, not 'two'", "runbox serve")]
    [InlineData("run script.py --memory 1 --memory 2", "Option '--memory' expects a single argument", "runbox run")]
    [InlineData("jobs", "Required command was not provided.", "runbox jobs")]
    public async Task ParseError_ExitsWith2_WithTheErrorAndAHintOnStderr_InsteadOfTheHelp(string line, string error, string command)
    {
        var (code, stdout, stderr) = await RunAsync(line);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains($"runbox: {error}", stderr);
        Assert.EndsWith($"see '{command} --help'\n", stderr);
        Assert.DoesNotContain("Usage:", stderr);
    }

    [Theory]
    [InlineData("bogus", "runbox")]
    [InlineData("jobs bogus", "runbox jobs")]
    public async Task UnknownCommand_ExitsWith2_WithOneLineNamingItAndTheHint(string line, string command)
    {
        var (code, stdout, stderr) = await RunAsync(line);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal($"runbox: Unrecognized command or argument 'bogus'.\nsee '{command} --help'\n", stderr);
    }

    [Theory]
    [InlineData("jobs list", "127.0.0.1:8051", "'127.0.0.1:8051' is not an http:// or https:// URL (as in http://127.0.0.1:8051)")]
    [InlineData("jobs logs abc -f", "localhost:8051", "'localhost:8051' is not an http:// or https:// URL")]
    [InlineData("run -", "not a url", "'not a url' is not an http:// or https:// URL")]
    public async Task ClientCommand_ExitsWith2NamingTheServer_WhenItIsNoUrl(string line, string server, string message)
    {
        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null, [.. line.Split(' '), "--server", server], TimeSpan.FromSeconds(60));

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"runbox: --server {message}", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task ClientCommand_TakesAnEmptyRunboxServer_AsUnset()
    {
        // `RUNBOX_SERVER= runbox jobs list` means the default server, not "$RUNBOX_SERVER '' is not ... (as in http://)".
        var (_, _, stderr) = await RunboxProcess.RunAsync(null, ["jobs", "list"], TimeSpan.FromSeconds(60),
            new Dictionary<string, string> { ["RUNBOX_SERVER"] = "", ["RUNBOX_KEY"] = "k" });

        Assert.DoesNotContain("is not an http", stderr);
        Assert.DoesNotContain("$RUNBOX_SERVER", stderr.Replace("--server or $RUNBOX_SERVER", ""));
    }

    [Fact]
    public async Task ClientCommand_TakesAnEmptyRunboxData_AsUnset()
    {
        // An empty RUNBOX_DATA is the default folder: the key is looked for in ./runbox-data/admin.key, not ./admin.key.
        var app = await StandInServer.StartAsync(api => api.MapGet("/api/v1/jobs", () => Results.Problem("Every request needs 'Authorization: Bearer KEY'.", statusCode: 401)));
        var (code, _, stderr) = await RunboxProcess.RunAsync(null, ["jobs", "list", "--server", StandInServer.Address(app)], TimeSpan.FromSeconds(60),
            new Dictionary<string, string> { ["RUNBOX_DATA"] = "", ["RUNBOX_KEY"] = "" });
        await app.StopAsync();
        await app.DisposeAsync();

        Assert.Equal(2, code);
        Assert.Contains($"nothing in {Path.Combine(Environment.CurrentDirectory, "runbox-data", "admin.key")} (--data or $RUNBOX_DATA name another folder)", stderr);
    }

    [Theory]
    [InlineData("jobs get", "job id")]
    [InlineData("jobs logs", "job id")]
    [InlineData("jobs artifacts", "job id")]
    [InlineData("jobs cancel", "job id")]
    [InlineData("jobs delete", "job id")]
    [InlineData("keys revoke", "key id")]
    [InlineData("runtimes delete", "runtime name")]
    public async Task ClientCommand_ExitsWith2_WhenTheIdIsEmpty(string line, string what)
    {
        // Against no server: the command must stop before any request.
        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null, [.. line.Split(' '), "", "--server", "http://127.0.0.1:1"], TimeSpan.FromSeconds(60));

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"runbox: the {what} must not be empty\n", stderr);
    }

    [Theory]
    [InlineData("jobs get", "job id", ".")]
    [InlineData("jobs logs", "job id", "..")]
    [InlineData("runtimes show", "runtime name", ".")]
    [InlineData("keys revoke", "key id", "..")]
    public async Task ClientCommand_ExitsWith2_WhenTheIdIsADotSegment(string line, string what, string id)
    {
        // A URL drops "." and "..": the request would name the list, or another job ("logs").
        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null, [.. line.Split(' '), id, "--server", "http://127.0.0.1:1"], TimeSpan.FromSeconds(60));

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"runbox: the {what} cannot be '{id}'\n", stderr);
    }

    [Fact]
    public async Task Help_IsStillPrintedOnStdout_WhenAsked()
    {
        var (code, stdout, _) = await RunAsync("jobs list --help");

        Assert.Equal(0, code);
        Assert.Contains("Usage:", stdout);
    }
}
