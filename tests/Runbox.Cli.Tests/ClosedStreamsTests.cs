using System.Text.Json;

namespace Runbox.Cli.Tests;

/// <summary>The CLI started with a standard stream closed (<c>&gt;&amp;-</c>, <c>2&gt;&amp;-</c>, <c>&lt;&amp;-</c>).</summary>
public sealed class ClosedStreamsTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task Run_RefusesInOneLineAndSubmitsNothing_WhenStdoutIsClosed()
    {
        var script = await ScriptAsync();
        var before = await JobCountAsync();

        var (code, _, stderr) = await fixture.RunRedirectedAsync(">&-", "run", script);

        Assert.Equal(2, code);
        Assert.Equal("runbox: stdout is closed (>&-): redirect it to /dev/null or a file instead\n", stderr);
        Assert.Equal(before, await JobCountAsync());
    }

    [Fact]
    public async Task Run_RefusesSayingSoOnStdout_WhenStderrIsClosed()
    {
        var script = await ScriptAsync();
        var before = await JobCountAsync();

        var (code, stdout, _) = await fixture.RunRedirectedAsync("2>&-", "run", script);

        Assert.Equal(2, code);
        Assert.Equal("runbox: stderr is closed (2>&-): redirect it to /dev/null or a file instead\n", stdout);
        Assert.Equal(before, await JobCountAsync());
    }

    [Fact]
    public async Task Run_RunsTheFileWithoutStdin_WhenStdinIsClosed_AndRefusesDashSayingSo()
    {
        var script = await ScriptAsync();

        var file = await fixture.RunRedirectedAsync("<&-", "run", script);
        var dash = await fixture.RunRedirectedAsync("<&-", "run", "-");
        var exec = await RunboxProcess.RunRedirectedAsync(["exec", "-"], "<&-", TimeSpan.FromSeconds(90));

        Assert.Equal((0, "out\n"), (file.ExitCode, file.Stdout));
        Assert.Equal((2, "runbox: the script is to come from stdin (-), but stdin is closed (<&-)\n"), (dash.ExitCode, dash.Stderr));
        Assert.Equal((2, "runbox: the script is to come from stdin (-), but stdin is closed (<&-)\n"), (exec.ExitCode, exec.Stderr));
    }

    [Fact]
    public async Task Run_SaysItCannotWriteTheOutput_WhenStdoutIsAFullDevice()
    {
        var script = await ScriptAsync();

        var (code, _, stderr) = await fixture.RunRedirectedAsync(">/dev/full", "run", script);

        // A full disk is no reader gone (141, "cancelled job"): the write failed, and the job is not cancelled for it.
        Assert.Equal(1, code);
        Assert.Matches(@"^runbox: cannot write job \w+'s output: No space left on device; that does not cancel the job: follow it again with 'runbox jobs logs \w+ -f'\n\z", stderr);
    }

    private async Task<string> ScriptAsync()
    {
        var script = Path.Combine(fixture.DataDirectory, "closed.py");
        await File.WriteAllTextAsync(script, "import sys\nprint('out')\nprint('err', file=sys.stderr)\n");
        return script;
    }

    private async Task<int> JobCountAsync()
    {
        var (_, list, _) = await fixture.RunAsync(null, "jobs", "list", "--json", "--limit", "200");
        return JsonDocument.Parse(list).RootElement.GetProperty("jobs").GetArrayLength();
    }
}
