using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace Runbox.Cli.Tests;

/// <summary>The real CLI against a real server: run, jobs, keys (runtimes: <see cref="RuntimesCommandTests"/>).</summary>
public sealed class ClientCommandsTests(CliFixture fixture, ITestOutputHelper output) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task Run_StreamsOutputAndExitsWithTheScriptsCode_WhenTheScriptFails()
    {
        var script = Path.Combine(fixture.DataDirectory, "fail.py");
        await File.WriteAllTextAsync(script, "import sys\nprint('to out')\nprint('to err', file=sys.stderr)\nsys.exit(5)\n");

        var (code, stdout, stderr) = await fixture.RunAsync(null, "run", script);
        output.WriteLine(stderr);

        Assert.Equal(5, code);
        Assert.Equal("to out\n", stdout);
        Assert.Contains("to err", stderr);
    }

    [Fact]
    public async Task RunAndLogs_GiveBackTheExactOutput_WhenALineIsOverlongOrLeftWithoutNewline()
    {
        // The engine sends a line over 64 KiB in pieces, and the last one here has no newline.
        var script = "import sys\nsys.stdout.write('x' * 70000 + '\\n')\nsys.stdout.write('tail')\n";

        var (code, stdout, stderr) = await fixture.RunAsync(script, "run", "-");
        output.WriteLine(stderr);
        var (_, list, _) = await fixture.RunAsync(null, "jobs", "list", "--json", "--limit", "1");
        var id = System.Text.Json.JsonDocument.Parse(list).RootElement.GetProperty("jobs")[0].GetProperty("id").GetString()!;
        var (_, logs, _) = await fixture.RunAsync(null, "jobs", "logs", id);

        Assert.Equal(0, code);
        Assert.Equal(new string('x', 70000) + "\ntail", stdout);
        Assert.Equal(new string('x', 70000) + "\ntail", logs);
    }

    [Fact]
    public async Task Run_SaysWhichLimitEndedTheJob_WhenTheScriptExceedsOne()
    {
        var (code, _, stderr) = await fixture.RunAsync("x = []\nwhile True:\n    x.append(bytearray(10**7))\n", "run", "-", "--memory", "64");
        output.WriteLine(stderr);

        Assert.Equal(137, code);
        Assert.Contains("failed: memory limit exceeded", stderr);
    }

    [Fact]
    public async Task Run_SubmitsToTheNamedRuntime_WhenRuntimeIsGiven()
    {
        var (code, stdout, stderr) = await fixture.RunAsync("print(1)\n", "run", "-", "--runtime", "nosuch");

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("no runtime 'nosuch'", stderr);
    }

    [Fact]
    public async Task Run_RefusesAnOptionItDoesNotKnow_UnlessItComesAfterDoubleDash()
    {
        const string Argv = "import sys\nprint(sys.argv[1:])\n";

        var refused = await fixture.RunAsync(Argv, "run", "-", "--timeot", "5");
        var passed = await fixture.RunAsync(Argv, "run", "-", "plain", "--", "--timeot", "5");

        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("unknown option '--timeot'", refused.Stderr);
        Assert.Equal(0, passed.ExitCode);
        Assert.Equal("['plain', '--timeot', '5']\n", passed.Stdout);
    }

    [Fact]
    public async Task Run_ExitsWith2SayingSo_WhenTheScriptIsAFolder()
    {
        var (code, stdout, stderr) = await fixture.RunAsync(null, "run", fixture.DataDirectory);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal($"runbox: cannot read {fixture.DataDirectory}: it is a folder, not a script\n", stderr);
    }

    [Fact]
    public async Task Run_LetsTheJobPrintMoreThanTheDefaultMegabyte_WithOutput()
    {
        var (code, stdout, stderr) = await fixture.RunAsync("import sys\nsys.stdout.write('x' * 2_000_000)\n", "run", "-", "--output", "3");

        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.Equal(2_000_000, stdout.Length);
    }

    [Theory]
    [InlineData("--timeout", "NaN", "--timeout must be a number of seconds more than 0 (the server sets the maximum), not NaN")]
    [InlineData("--cpu", "-1", "--cpu must be a number of seconds more than 0")]
    [InlineData("--memory", "0", "--memory must be a number of MB more than 0 (the server sets the maximum), not 0")]
    [InlineData("--disk", "-5", "--disk must be a number of MB more than 0")]
    [InlineData("--output", "0", "--output must be a number of MB more than 0 (the server sets the maximum), not 0")]
    public async Task Run_ExitsWith2NamingTheLimit_WhenALimitIsNotAPositiveNumber(string option, string value, string message)
    {
        var (code, stdout, stderr) = await fixture.RunAsync("print(1)\n", "run", "-", option, value);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"runbox: {message}", stderr);
    }

    [Fact]
    public async Task Run_SaysNothingOfVersions_WhenAServerOfItsOwnBuildRefusesTheJob()
    {
        var (code, stdout, stderr) = await fixture.RunAsync("print(1)\n", "run", "-", "--timeout", "1000000");

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("runbox: limits.timeout_seconds: ", stderr);
        Assert.DoesNotContain("this runbox", stderr);
    }

    [Fact]
    public async Task Run_PassesPipedStdinToTheScript_WhenTheScriptIsAFile()
    {
        var script = Path.Combine(fixture.DataDirectory, "upper.py");
        await File.WriteAllTextAsync(script, "import sys\nprint(sys.stdin.read().upper(), end='')\n");

        var (code, stdout, stderr) = await fixture.RunAsync("hi é\n", "run", script);
        output.WriteLine(stderr);

        Assert.Equal(0, code);
        Assert.Equal("HI É\n", stdout);
    }

    [Fact]
    public async Task Run_SubmitsAScriptThatIsNotUtf8_AsItsExactBytesUnderItsOwnName()
    {
        var script = Path.Combine(fixture.DataDirectory, "latin.py");
        await File.WriteAllBytesAsync(script, System.Text.Encoding.Latin1.GetBytes(
            "# -*- coding: latin-1 -*-\nimport os\nprint('caf\u00e9', os.path.basename(__file__))\n"));

        var (code, stdout, stderr) = await fixture.RunAsync(null, "run", script);
        output.WriteLine(stderr);

        Assert.Equal(0, code);
        Assert.Equal("caf\u00e9 latin.py\n", stdout);
    }

    [Fact]
    public async Task Run_RunsTheScriptUnderItsOwnName_AndJobsGetKeepsScriptAndName()
    {
        var script = Path.Combine(fixture.DataDirectory, "report.py");
        const string text = "import os\nprint(os.path.basename(__file__))\nraise ValueError('boom')\n";
        await File.WriteAllTextAsync(script, text);

        var (code, stdout, stderr) = await fixture.RunAsync(null, "run", script, "--json");
        output.WriteLine(stderr);
        var ended = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        var (_, get, _) = await fixture.RunAsync(null, "jobs", "get", ended.GetProperty("id").GetString()!);
        var job = System.Text.Json.JsonDocument.Parse(get).RootElement;

        Assert.Equal(1, code);
        Assert.Equal("report.py\n", ended.GetProperty("stdout").GetString());
        Assert.Contains("report.py\", line 3, in <module>", ended.GetProperty("stderr").GetString());
        Assert.Equal("report.py", job.GetProperty("entrypoint").GetString());
        Assert.Equal(text, job.GetProperty("script").GetString());
    }

    [Fact]
    public async Task Run_ReadsTheScriptFromStdin_WhenFileIsDash()
    {
        var (code, stdout, _) = await fixture.RunAsync("echo from-bash\n", "run", "-", "--lang", "bash");

        Assert.Equal(0, code);
        Assert.Equal("from-bash\n", stdout);
    }

    [Fact]
    public async Task JobsList_ShowsAKilledJobsExitAsRunExitedWithIt()
    {
        var (code, _, _) = await fixture.RunAsync("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "run", "-");

        var list = await fixture.RunAsync(null, "jobs", "list", "--limit", "1");

        Assert.Equal(137, code);
        Assert.Contains("137 (signal 9)", list.Stdout);
    }

    [Fact]
    public async Task RunDetach_PrintsTheIdThenJobsCommandsFindIt()
    {
        var (code, stdout, _) = await fixture.RunAsync("print('detached')\n", "run", "-", "--detach");
        var id = stdout.Trim();

        var logs = await fixture.RunAsync(null, "jobs", "logs", id, "-f");
        var list = await fixture.RunAsync(null, "jobs", "list");
        var get = await fixture.RunAsync(null, "jobs", "get", id);
        var delete = await fixture.RunAsync(null, "jobs", "delete", id);
        var missing = await fixture.RunAsync(null, "jobs", "get", id);

        Assert.Equal(0, code);
        Assert.Equal(32, id.Length);
        Assert.Equal("detached\n", logs.Stdout);
        Assert.Contains("STATUS", list.Stdout);
        Assert.Contains(id, list.Stdout);
        Assert.Contains("\"status\": \"succeeded\"", get.Stdout);
        Assert.Contains("\"script\": \"print('detached')\\n\"", get.Stdout);
        Assert.Equal(0, delete.ExitCode);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no job", missing.Stderr);
    }

    [Fact]
    public async Task JobsLogsTail_PrintsOnlyTheLastLines()
    {
        // stdout and stderr come through two pipes: the pause numbers the stderr line last.
        var (_, detached, _) = await fixture.RunAsync("import sys, time\nfor i in range(50): print(f'line {i}', flush=True)\ntime.sleep(0.5)\nprint('oops', file=sys.stderr)\n", "run", "-", "--detach");
        var id = detached.Trim();
        await fixture.RunAsync(null, "jobs", "logs", id, "-f");

        var (code, stdout, stderr) = await fixture.RunAsync(null, "jobs", "logs", id, "--tail", "3");
        var refused = await fixture.RunAsync(null, "jobs", "logs", id, "--tail", "0");

        Assert.Equal(0, code);
        Assert.Equal("line 48\nline 49\n", stdout);
        Assert.Equal("oops\n", stderr);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--tail must be between 1 and 10000, not 0", refused.Stderr);
    }

    [Fact]
    public async Task JobsLogsTailFollow_PrintsTheLastLines_ThenFollowsOnFromThem()
    {
        var id = (await fixture.RunAsync("import time\nfor i in range(10): print(f'line {i}', flush=True)\ntime.sleep(4)\nprint('after')\n", "run", "-", "--detach")).Stdout.Trim();
        // Wait for the first ten lines, so the tail is of them (or, on a slow machine, already of the line after).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(await fixture.RunAsync(null, "jobs", "logs", id)).Stdout.Contains("line 9\n", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var (code, stdout, stderr) = await fixture.RunAsync(null, "jobs", "logs", id, "--tail", "2", "-f");
        output.WriteLine(stderr);

        Assert.Equal(0, code);
        Assert.StartsWith(stdout.StartsWith("line 8", StringComparison.Ordinal) ? "line 8\nline 9\n" : "line 9\n", stdout);
        Assert.EndsWith("line 9\nafter\n", stdout);
        Assert.DoesNotContain("line 7", stdout);
    }

    private const string Sleeper = "import time\nprint('started', flush=True)\ntime.sleep(60)\n";

    [Fact]
    public async Task JobsLogsFollow_StopsFollowingOnCtrlC_AndLeavesTheJobRunning()
    {
        var id = (await fixture.RunAsync(Sleeper, "run", "-", "--detach")).Stdout.Trim();

        var (code, stdout, stderr) = await InterruptedRunbox.RunAsync(
            ["jobs", "logs", id, "-f", "--server", fixture.Server, "--data", fixture.DataDirectory], "started", TimeSpan.FromSeconds(60));
        var job = await fixture.RunAsync(null, "jobs", "get", id);
        await fixture.RunAsync(null, "jobs", "cancel", id);

        Assert.Equal(130, code);
        Assert.Equal("started\n", stdout);
        Assert.Contains($"stopped following job {id}; it keeps running", stderr);
        Assert.Contains("\"status\": \"running\"", job.Stdout);
        Assert.Contains("\"cancel_requested\": false", job.Stdout);
    }

    [Fact]
    public async Task Run_CancelsTheJobOnCtrlC()
    {
        var script = Path.Combine(fixture.DataDirectory, "sleeper.py");
        await File.WriteAllTextAsync(script, Sleeper);

        var (code, _, stderr) = await InterruptedRunbox.RunAsync(
            ["run", script, "--server", fixture.Server, "--data", fixture.DataDirectory], "started", TimeSpan.FromSeconds(60));
        var id = System.Text.RegularExpressions.Regex.Match(stderr, "cancelled job ([0-9a-f]{32})").Groups[1].Value;
        var job = await fixture.RunAsync(null, "jobs", "get", id);

        Assert.Equal(130, code);
        Assert.Contains("\"cancel_requested\": true", job.Stdout);
    }

    [Fact]
    public async Task Run_ExitsWith130SubmittingNothing_OnCtrlCWhileItReadsPipedStdin()
    {
        var script = Path.Combine(fixture.DataDirectory, "reads-stdin.py");
        await File.WriteAllTextAsync(script, "import sys\nprint(sys.stdin.read())\n");
        var before = (await fixture.RunAsync(null, "jobs", "list", "--json", "--limit", "200")).Stdout;

        var (code, stdout, stderr) = await InterruptedRunbox.RunReadingStdinAsync(
            ["run", script, "--server", fixture.Server, "--data", fixture.DataDirectory], TimeSpan.FromSeconds(60));
        var after = (await fixture.RunAsync(null, "jobs", "list", "--json", "--limit", "200")).Stdout;

        Assert.Equal(130, code);
        Assert.Equal("", stdout);
        Assert.Equal("runbox: interrupted; no job was submitted\n", stderr);
        Assert.Equal(JobCount(before), JobCount(after));
    }

    private static int JobCount(string listJson) =>
        System.Text.Json.JsonDocument.Parse(listJson).RootElement.GetProperty("jobs").GetArrayLength();

    [Fact]
    public async Task JobsList_SaysHowToSeeTheNextPage_AndCursorShowsIt()
    {
        var older = (await fixture.RunAsync("print(1)\n", "run", "-", "--detach")).Stdout.Trim();
        var newer = (await fixture.RunAsync("print(2)\n", "run", "-", "--detach")).Stdout.Trim();

        var first = await fixture.RunAsync(null, "jobs", "list", "--limit", "1");
        var hint = System.Text.RegularExpressions.Regex.Match(first.Stderr, @"^more: runbox jobs list --limit 1 --cursor (\S+)\n$");
        var second = await fixture.RunAsync(null, "jobs", "list", "--limit", "1", "--cursor", hint.Groups[1].Value);
        var tooMany = await fixture.RunAsync(null, "jobs", "list", "--limit", "201");

        Assert.Equal(0, first.ExitCode);
        Assert.Contains(newer, first.Stdout);
        Assert.True(hint.Success, first.Stderr);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains(older, second.Stdout);
        Assert.Equal(2, tooMany.ExitCode);
        Assert.StartsWith("runbox: --limit must be between 1 and 200, not 201\n", tooMany.Stderr);
    }

    [Fact]
    public async Task RunSave_DownloadsTheJobsArtifacts_AndJobsArtifactsListsAndDownloadsThemLater()
    {
        const string Make = "import os\nos.makedirs('out/deep')\nopen('out/deep/r.txt','w').write('deep')\nopen('top.csv','w').write('a,b')\nprint('made')\n";
        var saved = Path.Combine(fixture.DataDirectory, "saved-" + Guid.NewGuid().ToString("N")[..8]);
        var later = saved + "-later";

        var run = await fixture.RunAsync(Make, "run", "-", "--save", saved);
        using var newest = System.Text.Json.JsonDocument.Parse((await fixture.RunAsync(null, "jobs", "list", "--limit", "1", "--json")).Stdout);
        var id = newest.RootElement.GetProperty("jobs")[0].GetProperty("id").GetString()!;
        var table = await fixture.RunAsync(null, "jobs", "artifacts", id);
        // With a trailing slash, as a shell's completion writes a folder.
        var download = await fixture.RunAsync(null, "jobs", "artifacts", id, "--save", later + "/");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("made\n", run.Stdout);
        Assert.Contains($"2 artifacts saved in {saved}", run.Stderr);
        foreach (var folder in new[] { saved, later })
        {
            Assert.Equal("deep", await File.ReadAllTextAsync(Path.Combine(folder, "out", "deep", "r.txt")));
            Assert.Equal("a,b", await File.ReadAllTextAsync(Path.Combine(folder, "top.csv")));
        }
        Assert.Matches(@"NAME +SIZE +CREATED\nout/deep/r\.txt +4 .*\ntop\.csv +3 ", table.Stdout);
        Assert.Equal(0, download.ExitCode);
    }

    [Fact]
    public async Task JobsArtifacts_ShowsControlCharactersInNamesAsEscapes_AndSavesTheFilesUnderTheirOwnNames()
    {
        // A job names its files: a title-setting OSC and a colour reach the reader's terminal if the table prints them,
        // and a right-to-left override turns the shown name around.
        const string Make = "open('\\x1b]0;owned\\x07\\x1b[31mred.txt','w').write('r')\nopen('rtl\\u202etxt.exe','w').write('e')\n";
        var saved = Path.Combine(fixture.DataDirectory, "saved-" + Guid.NewGuid().ToString("N")[..8]);
        await fixture.RunAsync(Make, "run", "-");
        using var newest = System.Text.Json.JsonDocument.Parse((await fixture.RunAsync(null, "jobs", "list", "--limit", "1", "--json")).Stdout);
        var id = newest.RootElement.GetProperty("jobs")[0].GetProperty("id").GetString()!;

        var table = await fixture.RunAsync(null, "jobs", "artifacts", id);
        var download = await fixture.RunAsync(null, "jobs", "artifacts", id, "--save", saved);

        Assert.Equal(0, table.ExitCode);
        Assert.DoesNotContain('\x1b', table.Stdout);
        Assert.DoesNotContain('\a', table.Stdout);
        Assert.DoesNotContain('\u202e', table.Stdout);
        Assert.Matches(@"\n\\x1b\]0;owned\\x07\\x1b\[31mred\.txt +1 ", table.Stdout);
        Assert.Matches(@"\nrtl\\u202etxt\.exe +1 ", table.Stdout);
        Assert.Equal(0, download.ExitCode);
        Assert.Equal("r", await File.ReadAllTextAsync(Path.Combine(saved, "\x1b]0;owned\a\x1b[31mred.txt")));
        Assert.Equal("e", await File.ReadAllTextAsync(Path.Combine(saved, "rtl\u202etxt.exe")));
    }

    [Theory]
    [InlineData("/proc/runbox-nowhere", null, "cannot save artifacts in /proc/runbox-nowhere")]
    [InlineData("saved", "--detach", "--save waits for the job's end")]
    public async Task RunSave_IsRefusedBeforeSubmitting_WhenItCannotBeDone(string folder, string? detach, string message)
    {
        var before = (await fixture.RunAsync(null, "jobs", "list", "--limit", "1", "--json")).Stdout;

        var (code, _, stderr) = await fixture.RunAsync("print(1)\n", ["run", "-", "--save", Path.Combine(fixture.DataDirectory, folder), .. detach is null ? [] : new[] { detach }]);

        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
        Assert.Equal(before, (await fixture.RunAsync(null, "jobs", "list", "--limit", "1", "--json")).Stdout);
    }

    [Fact]
    public async Task RunSaveAndJobsArtifactsSave_ExitWith2SayingSo_WhenTheFolderIsEmpty()
    {
        var id = (await fixture.RunAsync("print(1)\n", "run", "-", "--detach")).Stdout.Trim();
        var before = (await fixture.RunAsync(null, "jobs", "list", "--limit", "1", "--json")).Stdout;

        var run = await fixture.RunAsync("print(1)\n", "run", "-", "--save", "");
        var after = (await fixture.RunAsync(null, "jobs", "list", "--limit", "1", "--json")).Stdout;
        var artifacts = await fixture.RunAsync(null, "jobs", "artifacts", id, "--save", "");

        Assert.Equal((2, "runbox: --save needs a folder, not an empty name\n"), (run.ExitCode, run.Stderr));
        Assert.Equal(before, after);
        Assert.Equal((2, "runbox: --save needs a folder, not an empty name\n"), (artifacts.ExitCode, artifacts.Stderr));
    }

    [Fact]
    public async Task JobsArtifactsSave_ExitsWith2NamingTheFolder_WhenAFileHasItsName()
    {
        var id = (await fixture.RunAsync("open('a.txt', 'w').write('a')\n", "run", "-", "--detach")).Stdout.Trim();
        await fixture.RunAsync(null, "jobs", "logs", id, "-f");
        var file = Path.Combine(fixture.DataDirectory, "not-a-folder");
        await File.WriteAllTextAsync(file, "mine");

        var (code, stdout, stderr) = await fixture.RunAsync(null, "jobs", "artifacts", id, "--save", file);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"runbox: cannot save artifacts in {file}: ", stderr);
        Assert.Equal("mine", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task ClientCommand_SaysWhyInOneLine_WhenGivenHttpsForAnHttpServer()
    {
        var https = "https://" + fixture.Server["http://".Length..];

        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null, ["jobs", "list", "--server", https, "--data", fixture.DataDirectory], TimeSpan.FromSeconds(60));
        output.WriteLine(stderr);

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"runbox: cannot reach {https}/: The SSL connection could not be established (", stderr);
        Assert.Contains("; is it an http:// server?)", stderr);
        Assert.DoesNotContain("inner exception", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task RunSave_MakesNoFolder_WhenTheScriptIsMissing()
    {
        var saved = Path.Combine(fixture.DataDirectory, "saved-" + Guid.NewGuid().ToString("N")[..8]);

        var (code, _, stderr) = await fixture.RunAsync(null, "run", Path.Combine(fixture.DataDirectory, "missing.py"), "--save", saved);

        Assert.Equal(2, code);
        Assert.Contains("cannot read", stderr);
        Assert.False(Directory.Exists(saved));
    }

    [Fact]
    public async Task ClientCommand_SaysWhereItLookedForAKey_WhenItFoundNone()
    {
        var elsewhere = Directory.CreateDirectory(Path.Combine(fixture.DataDirectory, "no-key-here")).FullName;

        var (code, _, stderr) = await RunboxProcess.RunAsync(null, ["jobs", "list", "--server", fixture.Server, "--data", elsewhere],
            TimeSpan.FromSeconds(60), new Dictionary<string, string> { ["RUNBOX_KEY"] = "" });

        Assert.Equal(2, code);
        Assert.Contains("Every request needs 'Authorization: Bearer KEY'.", stderr);
        Assert.Contains($"(no API key found: no --key, no $RUNBOX_KEY, nothing in {elsewhere}/admin.key (from --data))", stderr);
    }

    [Fact]
    public async Task Keys_CreateListRevoke_WithTheAdminKeyFile()
    {
        var created = await fixture.RunAsync(null, "keys", "create", "robot");
        var list = await fixture.RunAsync(null, "keys", "list");
        var id = list.Stdout.Split('\n').First(l => l.Contains("robot")).Split(' ')[0];
        var revoked = await fixture.RunAsync(null, "keys", "revoke", id);
        var withRevoked = await fixture.RunAsync("print(1)\n", "run", "-", "--key", created.Stdout.Trim());

        Assert.Equal(0, created.ExitCode);
        Assert.StartsWith("rbx_", created.Stdout.Trim());
        Assert.Equal(0, revoked.ExitCode);
        Assert.Equal(2, withRevoked.ExitCode);
        Assert.Contains("revoked", withRevoked.Stderr);
    }

    [Fact]
    public async Task KeysList_PrintsTheApisFields_WithJson()
    {
        var created = await fixture.RunAsync(null, "keys", "create", "scripted");

        var (code, stdout, stderr) = await fixture.RunAsync(null, "keys", "list", "--json");

        Assert.Equal(0, created.ExitCode);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var key = System.Text.Json.JsonDocument.Parse(stdout).RootElement.GetProperty("keys").EnumerateArray()
            .Single(k => k.GetProperty("name").GetString() == "scripted");
        Assert.StartsWith("key_", key.GetProperty("id").GetString());
        Assert.False(key.GetProperty("admin").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, key.GetProperty("revoked_at").ValueKind);
        Assert.True(key.TryGetProperty("created_at", out _));
        Assert.DoesNotContain(created.Stdout.Trim(), stdout); // never the secret
    }

    [Fact]
    public async Task EveryClientCommand_ExitsWith2SayingWhy_WhenTheServerRefusesWhatItWasGiven()
    {
        var ended = (await fixture.RunAsync("print(1)\n", "run", "-", "--detach")).Stdout.Trim();
        await fixture.RunAsync(null, "jobs", "logs", ended, "-f");
        string[][] refusedInput =
        [
            ["run", "-", "--runtime", "nosuch"], ["jobs", "get", "nosuchjob"], ["jobs", "logs", "nosuchjob"], ["jobs", "logs", "nosuchjob", "-f"],
            ["jobs", "artifacts", "nosuchjob"], ["jobs", "cancel", ended], ["jobs", "delete", "nosuchjob"], ["jobs", "list", "--status", "nosuch"],
            ["keys", "revoke", "key_nosuch"], ["runtimes", "show", "nosuch"], ["runtimes", "test", "nosuch"], ["runtimes", "delete", "nosuch"],
            ["runtimes", "install", "nosuch", "pkg"], ["runtimes", "create", "Not A Name"],
        ];

        var results = new List<(string Command, int ExitCode, string Stderr)>();
        foreach (var args in refusedInput)
        {
            var (code, _, stderr) = await fixture.RunAsync(args[0] == "run" ? "print(1)\n" : null, args);
            results.Add((string.Join(' ', args), code, stderr));
        }

        Assert.All(results, r => Assert.Equal((r.Command, 2), (r.Command, r.ExitCode)));
        Assert.All(results, r => Assert.Matches("^runbox: [^\n]+\n$", r.Stderr));
    }

    [Theory]
    [InlineData(408)]
    [InlineData(500)]
    [InlineData(502)]
    public async Task ClientCommand_ExitsWith1_WhenTheServerFailsRatherThanRefuses(int status)
    {
        var (code, _, stderr) = await StandInServer.RunCliAsync(api => api.Run(async context =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/problem+json";
            await context.Response.WriteAsync($$"""{"title":"Failed","status":{{status}},"detail":"The server failed ({{status}})."}""");
        }), null, "jobs", "get", "somejob");

        Assert.Equal((1, $"runbox: The server failed ({status}).\n"), (code, stderr));
    }

    [Fact]
    public async Task Run_ExitsWith2SayingTheServersCap_WhenTheScriptIsLargerThanTheServerTakes()
    {
        // Well over the default Runbox:MaxRequestBodyBytes (10 MB), a script with its data inline: more than the server takes in
        // before it closes the connection.
        var script = Path.Combine(fixture.DataDirectory, "huge.py");
        await File.WriteAllTextAsync(script, "#" + new string('x', 40 * 1024 * 1024) + "\nprint(1)\n");

        var (code, stdout, stderr) = await fixture.RunAsync(null, "run", script);

        Assert.Equal((2, ""), (code, stdout));
        Assert.Equal("runbox: The request body must be at most 10485760 bytes.\n", stderr);
    }
}
