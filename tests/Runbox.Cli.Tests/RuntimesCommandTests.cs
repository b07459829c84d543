using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace Runbox.Cli.Tests;

/// <summary><c>runbox runtimes</c> against a real server whose packages come from an empty local folder (none install).</summary>
public sealed class RuntimesCommandTests(CliFixture fixture, ITestOutputHelper output) : IClassFixture<CliFixture>
{
    private const string Sleeper = "import time\nprint('started', flush=True)\ntime.sleep(60)\n";

    [Fact]
    public async Task Runtimes_ExitNonZeroAndSayWhy_WhenTheRuntimeDidNotBuild()
    {
        var create = await fixture.RunAsync(null, "runtimes", "create", "clibroken", "-p", "nosuchpackage");
        var test = await fixture.RunAsync(null, "runtimes", "test", "clibroken");
        var list = await fixture.RunAsync(null, "runtimes", "list");
        var delete = await fixture.RunAsync(null, "runtimes", "delete", "clibroken");
        output.WriteLine(create.Stdout + create.Stderr + test.Stderr);

        Assert.Equal(1, create.ExitCode);
        Assert.Contains("clibroken: failed", create.Stdout);
        Assert.Contains("error: Installing packages failed", create.Stdout);
        // pip's error has two lines: the second is indented under "error:", not flush left as if it were another runtime.
        Assert.All(create.Stdout.TrimEnd('\n').Split('\n').Skip(1), line => Assert.StartsWith("  ", line));
        Assert.Contains("\n    ERROR: No matching distribution found for nosuchpackage", create.Stdout);
        Assert.DoesNotContain("smoke test job", create.Stdout);
        // The server refuses to test a runtime that did not build (409): refused input, as for every command.
        Assert.Equal(2, test.ExitCode);
        Assert.Contains("did not build", test.Stderr);
        // One row per runtime, though pip's error had two lines.
        Assert.All(list.Stdout.TrimEnd('\n').Split('\n').Skip(1), line => Assert.Matches("^[a-z0-9][a-z0-9._-]* +(installing|ready|operational|failed) ", line));
        Assert.Contains("Installing packages failed", list.Stdout);
        Assert.Equal(0, delete.ExitCode);
    }

    [Fact]
    public async Task Create_StopsFollowingOnCtrlC_With130_AndTheInstallGoesOn()
    {
        var (code, _, stderr) = await InterruptedRunbox.RunAsync(
            ["runtimes", "create", "cliinterrupted", "--server", fixture.Server, "--data", fixture.DataDirectory], "installing:", TimeSpan.FromSeconds(60), onStderr: true);
        output.WriteLine(stderr);
        var show = await fixture.RunAsync(null, "runtimes", "show", "cliinterrupted");
        await fixture.RunAsync(null, "runtimes", "delete", "cliinterrupted", "--force");

        Assert.Equal(130, code);
        Assert.Contains("runbox: stopped following runtime cliinterrupted; its install goes on: see 'runbox runtimes show cliinterrupted'", stderr);
        Assert.Equal(0, show.ExitCode);
        Assert.StartsWith("cliinterrupted: ", show.Stdout);
    }

    [Fact]
    public async Task Runtimes_CountOnlyPackagesAskedFor_AndDeleteNamesTheForceOption_WhenJobsAreQueuedOnTheRuntime()
    {
        var create = await fixture.RunAsync(null, "runtimes", "create", "clibusy");
        output.WriteLine(create.Stdout + create.Stderr);
        var id = (await fixture.RunAsync(Sleeper, "run", "-", "--runtime", "clibusy", "--detach")).Stdout.Trim();

        var refused = await fixture.RunAsync(null, "runtimes", "delete", "clibusy");
        var forced = await fixture.RunAsync(null, "runtimes", "delete", "clibusy", "--force");

        Assert.Equal(0, create.ExitCode);
        // The venv's own pip (and setuptools) are not counted: nothing was asked for.
        Assert.Matches(@"^clibusy: operational \(Python [^,]+, 0 packages\)\n$", create.Stdout);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"queued or running on runtime 'clibusy' ({id}); use 'runbox runtimes delete clibusy --force' to cancel them.", refused.Stderr);
        Assert.Equal(0, forced.ExitCode);
    }

    [Fact]
    public async Task Install_RemovesAPreload_WithNoPackagesGiven()
    {
        var create = await fixture.RunAsync(null, "runtimes", "create", "clipreload", "--preload", "wave", "csv");
        var unknown = await fixture.RunAsync(null, "runtimes", "install", "clipreload", "--remove-preload", "nosuch");
        var install = await fixture.RunAsync(null, "runtimes", "install", "clipreload", "--remove-preload", "wave", "--json");
        var run = await fixture.RunAsync("import sys\nprint('wave' in sys.modules, 'csv' in sys.modules)\n", "run", "-", "--runtime", "clipreload");
        await fixture.RunAsync(null, "runtimes", "delete", "clipreload");
        output.WriteLine(create.Stdout + create.Stderr + unknown.Stderr + install.Stdout + install.Stderr + run.Stdout + run.Stderr);

        Assert.Equal(0, create.ExitCode);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("'nosuch' is not among the preloads of runtime 'clipreload' (wave, csv)", unknown.Stderr);
        Assert.Equal(0, install.ExitCode);
        var runtime = JsonDocument.Parse(install.Stdout).RootElement;
        Assert.Equal("operational", runtime.GetProperty("state").GetString());
        Assert.Equal(["csv"], runtime.GetProperty("preload").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("False True\n", run.Stdout);
    }

    [Fact]
    public async Task Install_SendsNoRemovePreload_WhenNoneIsGiven_SoAServerFromBeforeItTakesTheRequest()
    {
        // A server from before remove_preload refuses it as an unknown field, even as null or []: the body a plain
        // install sends must not name it.
        string? body = null;
        var (code, _, stderr) = await StandInServer.RunCliAsync(api => api.Run(async context =>
        {
            body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            context.Response.StatusCode = 400;
            context.Response.ContentType = "application/problem+json";
            await context.Response.WriteAsync("""{"title":"Bad request","status":400,"detail":"stand-in"}""");
        }), null, "runtimes", "install", "data", "tinypkg", "--preload", "json", "--no-wait");
        output.WriteLine(stderr);

        Assert.Equal(2, code);
        Assert.NotNull(body);
        var sent = JsonDocument.Parse(body).RootElement;
        Assert.Equal(["tinypkg"], sent.GetProperty("packages").EnumerateArray().Select(p => p.GetString()));
        Assert.False(sent.TryGetProperty("remove_preload", out _), body);
    }

    [Fact]
    public async Task Install_ExitsWith1_ButTheRuntimeWorksOn_AndEveryCommandSaysTheInstallFailed()
    {
        var create = await fixture.RunAsync(null, "runtimes", "create", "clikeep", "--json");
        var install = await fixture.RunAsync(null, "runtimes", "install", "clikeep", "nosuchpackage");
        var list = await fixture.RunAsync(null, "runtimes", "list");
        var listJson = await fixture.RunAsync(null, "runtimes", "list", "--json");
        var show = await fixture.RunAsync(null, "runtimes", "show", "clikeep");
        var showJson = await fixture.RunAsync(null, "runtimes", "show", "clikeep", "--json");
        var installOutput = await fixture.RunAsync(null, "runtimes", "show", "clikeep", "--install-output");
        var run = await fixture.RunAsync("print('still works')\n", "run", "-", "--runtime", "clikeep");
        await fixture.RunAsync(null, "runtimes", "delete", "clikeep");
        output.WriteLine(create.Stdout + create.Stderr + install.Stdout + install.Stderr + list.Stdout + show.Stdout);

        Assert.Equal(0, create.ExitCode);
        Assert.Equal("operational", JsonDocument.Parse(create.Stdout).RootElement.GetProperty("state").GetString());
        Assert.Equal(1, install.ExitCode);
        Assert.StartsWith("clikeep: operational (", install.Stdout);
        Assert.Contains("\n  installing nosuchpackage failed; the runtime kept what it had:\n    ERROR: ", install.Stdout);
        Assert.Contains("\n    ERROR: No matching distribution found for nosuchpackage\n", install.Stdout);
        Assert.EndsWith("  installer output: runbox runtimes show clikeep --install-output\n", install.Stdout);
        var row = Assert.Single(list.Stdout.Split('\n'), l => l.StartsWith("clikeep ", StringComparison.Ordinal));
        Assert.Matches(@"^clikeep +operational .*installing nosuchpackage failed \(the runtime kept what it had\): ERROR: .* \.\.\. ERROR: No matching distribution found for nosuchpackage$", row);
        var listed = JsonDocument.Parse(listJson.Stdout).RootElement.GetProperty("runtimes").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "clikeep");
        Assert.Equal("operational", listed.GetProperty("state").GetString());
        Assert.False(listed.GetProperty("last_install").GetProperty("succeeded").GetBoolean());
        Assert.Contains("\n  last install: nosuchpackage, failed at ", show.Stdout);
        Assert.Contains("\n    the runtime kept what it had before this install\n", show.Stdout);
        var shown = JsonDocument.Parse(showJson.Stdout).RootElement;
        Assert.Equal(JsonValueKind.Null, shown.GetProperty("error").ValueKind);
        Assert.EndsWith("ERROR: No matching distribution found for nosuchpackage", shown.GetProperty("last_install").GetProperty("error").GetString());
        Assert.StartsWith("Looking in links", installOutput.Stdout);
        Assert.Equal((0, "still works\n"), (run.ExitCode, run.Stdout));
    }

    [Fact]
    public async Task Show_SaysSo_WhenTheRuntimeHasHadNoInstall_OrDoesNotExist()
    {
        var noInstall = await fixture.RunAsync(null, "runtimes", "show", "default", "--install-output");
        var missing = await fixture.RunAsync(null, "runtimes", "show", "nosuchruntime");

        Assert.Equal(1, noInstall.ExitCode);
        Assert.Contains("runtime 'default' has had no package installation", noInstall.Stderr);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nosuchruntime", missing.Stderr);
    }
}
