namespace Runbox.Cli.Tests;

/// <summary>
/// The CLI's output piped into a program that stops reading early (<c>| head -n 2</c>): the command stops then, with
/// 141 (128+SIGPIPE) as a local program would, rather than streaming the rest of the job into nothing until it ends.
/// </summary>
public sealed class PipedIntoHeadTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    /// <summary>A line every 0.1 s for 15 s: long enough that a command that does not stop is plainly seen to go on.</summary>
    private const string Counter = "import time\nfor i in range(150):\n    print(i, flush=True)\n    time.sleep(0.1)\n";

    /// <summary>About 170 KB of lines, more than a pipe's 64 KiB buffer: writing them all waits for the reader.</summary>
    private const string ManyLines = "for i in range(30000):\n    print(i)\n";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private string[] Client(params string[] args) => [.. args, "--server", fixture.Server, "--data", fixture.DataDirectory];

    private async Task<string> ScriptAsync()
    {
        var path = Path.Combine(fixture.DataDirectory, "counter.py");
        await File.WriteAllTextAsync(path, Counter);
        return path;
    }

    [Fact]
    public async Task Run_CancelsTheJobAndExits141_WhenTheReaderOfItsOutputExits()
    {
        var started = DateTime.UtcNow;
        var (code, stdout, stderr) = await RunboxProcess.RunPipedAsync(Client("run", await ScriptAsync()), "head -n 2", Timeout);
        var elapsed = DateTime.UtcNow - started;
        var id = System.Text.RegularExpressions.Regex.Match(stderr, "cancelled job ([0-9a-f]{32})").Groups[1].Value;
        var job = await fixture.RunAsync(null, "jobs", "get", id);

        Assert.Equal(141, code);
        Assert.Equal("0\n1\n", stdout);
        Assert.Contains("(its output's reader went away)", stderr);
        Assert.Contains("\"cancel_requested\": true", job.Stdout);
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");
    }

    [Fact]
    public async Task RunSave_SavesNothing_WhenTheReaderOfItsOutputExits()
    {
        var folder = Path.Combine(fixture.DataDirectory, "saved-" + Guid.NewGuid().ToString("N")[..8]);

        var (code, _, stderr) = await RunboxProcess.RunPipedAsync(Client("run", await ScriptAsync(), "--save", folder), "head -n 1", Timeout);

        Assert.Equal(141, code);
        Assert.Contains("(its output's reader went away)", stderr);
        Assert.DoesNotContain("saved in", stderr);
    }

    [Fact]
    public async Task JobsLogs_StopWith141AndLeaveTheJobRunning_WhenTheReaderOfTheirOutputExits()
    {
        var id = (await fixture.RunAsync(Counter, "run", "-", "--detach")).Stdout.Trim();

        var followed = await RunboxProcess.RunPipedAsync(Client("jobs", "logs", id, "-f"), "head -n 2", Timeout);
        var job = await fixture.RunAsync(null, "jobs", "get", id);
        // Printing stored lines, the command may be done before head exits unless they are more than a pipe holds.
        var ended = await fixture.RunAsync(ManyLines, "run", "-", "--json");
        var endedId = System.Text.Json.JsonDocument.Parse(ended.Stdout).RootElement.GetProperty("id").GetString()!;
        var printed = await RunboxProcess.RunPipedAsync(Client("jobs", "logs", endedId), "head -n 1", Timeout);
        await fixture.RunAsync(null, "jobs", "cancel", id);

        Assert.Equal(141, followed.ExitCode);
        Assert.Equal("0\n1\n", followed.Stdout);
        Assert.Contains("\"status\": \"running\"", job.Stdout);
        Assert.Contains("\"cancel_requested\": false", job.Stdout);
        Assert.Equal(141, printed.ExitCode);
        Assert.Equal("0\n", printed.Stdout);
    }

    [Fact]
    public async Task JobsGet_StopsWith141_WhenTheReaderOfItsOutputExits()
    {
        var ended = await fixture.RunAsync(ManyLines, "run", "-", "--json");
        var id = System.Text.Json.JsonDocument.Parse(ended.Stdout).RootElement.GetProperty("id").GetString()!;

        var (code, stdout, stderr) = await RunboxProcess.RunPipedAsync(Client("jobs", "get", id), "head -n 1", Timeout);

        Assert.Equal(141, code);
        Assert.Equal("{\n", stdout);
        Assert.Equal("", stderr);
    }

    [Fact]
    public async Task RunJson_Exits141WithoutACancel_WhenTheReaderOfItsOutputExits()
    {
        var path = Path.Combine(fixture.DataDirectory, "many-lines.py");
        await File.WriteAllTextAsync(path, ManyLines);

        var (code, stdout, stderr) = await RunboxProcess.RunPipedAsync(Client("run", path, "--json"), "head -c 7", Timeout);

        // The job had ended when its JSON was written: there is nothing to cancel.
        Assert.Equal(141, code);
        Assert.Equal("{\"id\":\"", stdout);
        Assert.Equal("", stderr);
    }

    [Fact]
    public async Task ExecJson_Exits141_WhenTheReaderOfItsOutputExits()
    {
        var path = Path.Combine(fixture.DataDirectory, "many-lines.py");
        await File.WriteAllTextAsync(path, ManyLines);

        var (code, stdout, stderr) = await RunboxProcess.RunPipedAsync(["exec", path, "--json"], "head -c 7", Timeout,
            new Dictionary<string, string> { ["RUNBOX_WORK_ROOT"] = Path.Combine(Path.GetTempPath(), "runbox-cli-work") });

        Assert.Equal(141, code);
        Assert.Equal("{\"id\":\"", stdout);
        Assert.Equal("", stderr);
    }

    [Fact]
    public async Task Exec_StopsTheScriptAndExits141_WhenTheReaderOfItsOutputExits()
    {
        var started = DateTime.UtcNow;
        var (code, stdout, _) = await RunboxProcess.RunPipedAsync(["exec", await ScriptAsync()], "head -n 2", Timeout,
            new Dictionary<string, string> { ["RUNBOX_WORK_ROOT"] = Path.Combine(Path.GetTempPath(), "runbox-cli-work") });
        var elapsed = DateTime.UtcNow - started;

        Assert.Equal(141, code);
        Assert.Equal("0\n1\n", stdout);
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");
    }
}
