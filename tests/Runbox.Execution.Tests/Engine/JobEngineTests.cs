using System.Diagnostics;
using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Engine;

public sealed class JobEngineTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private JobEngine Engine => fixture.Engine;

    private static JobRequest Python(string script, double timeoutSeconds = 20) => new()
    {
        Script = script,
        Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(timeoutSeconds) },
    };

    private static string Out(JobResult result) => Encoding.UTF8.GetString(result.Stdout);

    [Fact]
    public async Task RunAsync_Succeeds_WithOutputAndMetrics()
    {
        var result = await Engine.RunAsync(Python("import sys\nprint('out')\nprint('err', file=sys.stderr)"));
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("out\n", Out(result));
        Assert.Equal("err\n", Encoding.UTF8.GetString(result.Stderr));
        Assert.True(result.PeakMemoryBytes > 0);
        Assert.True(result.FinishedAt >= result.StartedAt);
    }

    [Fact]
    public async Task RunAsync_TimesOut_WhenWallLimitPasses()
    {
        var clock = Stopwatch.StartNew();
        var result = await Engine.RunAsync(Python("import time\nprint('sleeping')\ntime.sleep(60)", timeoutSeconds: 1));
        Assert.Equal(JobStatus.TimedOut, result.Status);
        Assert.Equal(LimitKind.WallTime, result.LimitExceeded);
        Assert.Equal("sleeping\n", Out(result));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Cancel_EndsRunningJob_AsCancelled()
    {
        var execution = await Engine.StartAsync(Python("import time\nprint('started')\ntime.sleep(60)"));
        await foreach (var line in execution.ReadLogsAsync())
        {
            Assert.Equal("started", line.Text);
            execution.Cancel();
            break;
        }
        var result = await execution.Completion.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(JobStatus.Cancelled, result.Status);
    }

    [Fact]
    public async Task ReadLogsAsync_DeliversLines_WhileJobRuns()
    {
        var execution = await Engine.StartAsync(Python("import sys, time\nsys.stdout.write('first\\n')\ntime.sleep(1.5)\nsys.stdout.write('second\\n')"));
        var lines = new List<(LogLine Line, bool Done)>();
        await foreach (var line in execution.ReadLogsAsync())
        {
            lines.Add((line, execution.Completion.IsCompleted));
        }
        Assert.Equal(["first", "second"], lines.Select(l => l.Line.Text));
        Assert.False(lines[0].Done, "the first line must arrive before the job ends");
        Assert.Equal([1L, 2L], lines.Select(l => l.Line.Seq));
    }

    [Fact]
    public async Task RunAsync_StopsAtOutputLimit_WithTruncatedOutput()
    {
        var request = Python("while True:\n    print('x' * 99)") with { Limits = new JobLimits { OutputBytes = 10_000, Timeout = TimeSpan.FromSeconds(20) } };
        var result = await Engine.RunAsync(request);
        Assert.Equal(JobStatus.Failed, result.Status);
        Assert.Equal(LimitKind.Output, result.LimitExceeded);
        Assert.Equal(10_000, result.Stdout.Length);
        Assert.True(result.StdoutTruncated);
    }

    [Fact]
    public async Task RunAsync_KeepsExactBytes_OfNonUtf8Output()
    {
        var result = await Engine.RunAsync(Python("import sys\nsys.stdout.buffer.write(b'\\xff\\x00ok\\n')"));
        Assert.Equal(new byte[] { 0xff, 0x00, (byte)'o', (byte)'k', (byte)'\n' }, result.Stdout);
    }

    [Fact]
    public async Task RunAsync_PassesArgsStdinAndEnvironment()
    {
        var result = await Engine.RunAsync(Python("import os, sys\nprint(sys.argv[1:], sys.stdin.read(), os.environ['GREETING'])") with
        {
            Args = ["a", "b c"],
            Stdin = "piped"u8.ToArray(),
            Environment = new Dictionary<string, string> { ["GREETING"] = "hi" },
        });
        Assert.Equal("['a', 'b c'] piped hi\n", Out(result));
    }

    [Fact]
    public async Task RunAsync_DoesNotLeakHostEnvironment()
    {
        Environment.SetEnvironmentVariable("RUNBOX_TEST_SECRET", "s3cret");
        var result = await Engine.RunAsync(Python("import os\nprint(sorted(os.environ))\nprint(open('/proc/self/environ','rb').read())"));
        Assert.DoesNotContain("RUNBOX_TEST_SECRET", Out(result));
        Assert.DoesNotContain("s3cret", Out(result));
    }

    [Fact]
    public async Task RunAsync_BashJob_StartsWithSigpipeDefault()
    {
        // The fast path ignores SIGPIPE as python does; a program exec'd by a job must not inherit that: `yes` then
        // dies quietly when head closes the pipe, instead of failing its writes.
        var result = await Engine.RunAsync(new JobRequest { Language = JobLanguage.Bash, Script = "yes | head -n 1\ntrap -p" });
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("y\n", Out(result));
        Assert.Equal("", Encoding.UTF8.GetString(result.Stderr));
    }

    [Fact]
    public async Task RunAsync_RunsBashJob()
    {
        var result = await Engine.RunAsync(new JobRequest { Language = JobLanguage.Bash, Script = "echo \"bash $1\"; exit 7", Args = ["arg"] });
        Assert.Equal(JobStatus.Failed, result.Status);
        Assert.Equal(7, result.ExitCode);
        Assert.Equal("bash arg\n", Out(result));
    }

    [SkippableFact]
    public async Task RunAsync_RunsNodeJob()
    {
        Requires.Node();
        var result = await Engine.RunAsync(new JobRequest { Language = JobLanguage.Node, Script = "console.log('node', process.argv[2]); process.exit(3)", Args = ["x"] });
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("node x\n", Out(result));
    }

    [Fact]
    public async Task RunAsync_RunsFreshInterpreter_WhenAsked()
    {
        var script = "import sys\nprint('-u' in sys.orig_argv, __name__)";
        var fresh = await Engine.RunAsync(Python(script) with { Fresh = true });
        var fast = await Engine.RunAsync(Python(script));
        Assert.Equal(JobStatus.Succeeded, fresh.Status);
        Assert.Equal("True __main__\n", Out(fresh));
        Assert.Equal("False __main__\n", Out(fast));
    }

    [Fact]
    public async Task RunAsync_StaysOnTheFastPath_WhenTheJobSetsOnlyVariablesItHonoursThere()
    {
        var script = "import sys\nprint('-u' in sys.orig_argv)";
        var env = new Dictionary<string, string> { ["PYTHONUNBUFFERED"] = "1", ["PYTHONDONTWRITEBYTECODE"] = "1", ["PYTHONBREAKPOINT"] = "0", ["MY_PYTHON"] = "x" };

        var fast = await Engine.RunAsync(Python(script) with { Environment = env });
        var fresh = await Engine.RunAsync(Python(script) with { Environment = new Dictionary<string, string>(env) { ["PYTHONPATH"] = "/opt" } });

        Assert.Equal("False\n", Out(fast));
        Assert.Equal("True\n", Out(fresh));
    }

    [Fact]
    public async Task RunAsync_CountsTheFilesNotKept_WhenTheJobLeavesMoreThanTheArtifactLimit()
    {
        var result = await Engine.RunAsync(Python("for i in range(1003):\n    open(f'f{i:04}.txt', 'w').write('x')"));

        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal(1000, result.Artifacts.Count);
        Assert.Equal(3, result.ArtifactsSkipped);
    }

    [Fact]
    public async Task RunAsync_ExecutesCommand_WithArgv()
    {
        var result = await Engine.RunAsync(new JobRequest { Command = ["sh", "-c", "echo $0-$1", "zero", "one"] });
        Assert.Equal("zero-one\n", Out(result));
    }

    [Fact]
    public async Task RunAsync_KillsDetachedDescendants_AndReturnsPromptly()
    {
        var clock = Stopwatch.StartNew();
        var result = await Engine.RunAsync(new JobRequest
        {
            Language = JobLanguage.Bash,
            Script = "setsid sleep 300 & (sleep 300 &) ; nohup sleep 300 >/dev/null 2>&1 & echo launched",
            Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(30) },
        });
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("launched\n", Out(result));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        // Killed processes can stay listed in /proc for a moment while the kernel tears them down.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (SleepersOf(300).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var survivors = SleepersOf(300);
        Assert.True(survivors.Count == 0, "still running: " + string.Join("; ", survivors.Select(Describe)));
    }

    /// <summary>What a surviving process is doing: its state, parent, pids per namespace, cgroups and wait channel.</summary>
    private static string Describe(int pid)
    {
        try
        {
            var status = File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("State:", StringComparison.Ordinal)
                || l.StartsWith("PPid:", StringComparison.Ordinal) || l.StartsWith("NSpid:", StringComparison.Ordinal) || l.StartsWith("Uid:", StringComparison.Ordinal));
            var cgroups = File.ReadLines($"/proc/{pid}/cgroup").Where(l => l.Contains("freezer", StringComparison.Ordinal) || l.Contains("pids", StringComparison.Ordinal));
            var wchan = File.Exists($"/proc/{pid}/wchan") ? File.ReadAllText($"/proc/{pid}/wchan") : "";
            // Its parent's command line says whose it is: CI saw one as root, in the host's PID namespace and cgroups,
            // which no sandboxed job can make (2026-12-03).
            var parent = status.FirstOrDefault(l => l.StartsWith("PPid:", StringComparison.Ordinal))?[5..].Trim();
            var parentCommand = parent is null ? "" : File.ReadAllText($"/proc/{parent}/cmdline").Replace('\0', ' ').Trim();
            return $"pid {pid}: {string.Join(", ", status.Concat(cgroups))}, wchan {wchan}, parent runs '{parentCommand}'".Replace('\t', ' ');
        }
        catch (IOException)
        {
            return $"pid {pid}: gone";
        }
    }

    [Fact]
    public async Task RunAsync_CollectsArtifacts_ButNotInputsOrLinks()
    {
        var artifacts = Directory.CreateTempSubdirectory("runbox-artifacts-").FullName;
        var result = await Engine.RunAsync(Python("import os\nos.makedirs('out', exist_ok=True)\nopen('out/data.csv','w').write('a,b\\n')\nos.symlink('/etc/passwd', 'link')") with { ArtifactDirectory = artifacts });
        Assert.Equal(JobStatus.Succeeded, result.Status);
        var artifact = Assert.Single(result.Artifacts);
        Assert.Equal("out/data.csv", artifact.Name);
        Assert.Equal(4, artifact.Size);
        Assert.Equal("a,b\n", File.ReadAllText(Path.Combine(artifacts, "out", "data.csv")));
        Directory.Delete(artifacts, recursive: true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunAsync_LeavesNoBytecodeCache_WhenTheScriptImportsASiblingModule(bool fresh)
    {
        var result = await Engine.RunAsync(new JobRequest
        {
            Files = new Dictionary<string, byte[]>
            {
                ["main.py"] = Encoding.UTF8.GetBytes("import helper\nprint(helper.X)\nopen('made.txt', 'w').write('x')"),
                ["helper.py"] = Encoding.UTF8.GetBytes("X = 42"),
            },
            Entrypoint = "main.py",
            Fresh = fresh,
        });
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("42\n", Out(result));
        Assert.Equal("made.txt", Assert.Single(result.Artifacts).Name);
    }

    [Fact]
    public async Task RunAsync_InGivenDirectory_ReportsOnlyNewFiles_AndKeepsOwnership()
    {
        var directory = Directory.CreateTempSubdirectory("runbox-given-").FullName;
        File.WriteAllText(Path.Combine(directory, "existing.txt"), "keep me");
        var result = await Engine.RunAsync(Python("open('new.txt','w').write('new')") with { WorkingDirectory = directory, ArtifactDirectory = directory });
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("new.txt", Assert.Single(result.Artifacts).Name);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(directory, "existing.txt")));
        Assert.Equal("new", File.ReadAllText(Path.Combine(directory, "new.txt")));
        Assert.Equal(0, OwnerOf(directory));
        Assert.Equal(0, OwnerOf(Path.Combine(directory, "new.txt")));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task RunAsync_InGivenDirectory_LeavesTheCallersMainPyAlone_AndTakesItsScriptAway()
    {
        var directory = Directory.CreateTempSubdirectory("runbox-given-").FullName;
        File.WriteAllText(Path.Combine(directory, "main.py"), "print('the caller\'s own main')");

        var result = await Engine.RunAsync(Python("import os, sys\nprint(open('main.py').read())\nprint(os.path.basename(sys.argv[0]) != 'main.py')") with { WorkingDirectory = directory });

        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("print('the caller\'s own main')\nTrue\n", Out(result));
        Assert.Equal("print('the caller\'s own main')", File.ReadAllText(Path.Combine(directory, "main.py")));
        Assert.Equal(["main.py"], Directory.GetFiles(directory).Select(Path.GetFileName));
        Assert.Empty(result.Artifacts);
        Directory.Delete(directory, recursive: true);
    }

    private static long OwnerOf(string path)
    {
        using var process = System.Diagnostics.Process.Start(new ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true })!;
        var text = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return long.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Theory]
    [InlineData("../escape.py", "'..'")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("a\\b.py", "backslash")]
    public async Task StartAsync_RejectsBadFileNames(string name, string expected)
    {
        var result = await Engine.RunAsync(new JobRequest { Files = new Dictionary<string, byte[]> { [name] = [] }, Entrypoint = name });
        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Contains(expected, result.Error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task StartAsync_RejectsADiskLimitThatIsNotPositive(long bytes)
    {
        var result = await Engine.RunAsync(Python("print(1)") with { Limits = new JobLimits { DiskBytes = bytes } });
        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Equal("the disk limit must be a positive number of bytes", result.Error);
    }

    [Fact]
    public async Task StartAsync_RejectsUnknownRuntime()
    {
        var result = await Engine.RunAsync(Python("print(1)") with { Runtime = "nope" });
        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Contains("unknown runtime 'nope'", result.Error);
    }

    [Fact]
    public async Task RunAsync_RunsHundredJobsConcurrently()
    {
        var jobs = Enumerable.Range(0, 100).Select(i => Engine.RunAsync(Python($"print({i} * 2)"))).ToList();
        var results = await Task.WhenAll(jobs);
        for (var i = 0; i < results.Length; i++)
        {
            Assert.True(results[i].Status == JobStatus.Succeeded, $"job {i}: {results[i].Status} {results[i].Error} {Encoding.UTF8.GetString(results[i].Stderr)}");
            Assert.Equal($"{i * 2}\n", Out(results[i]));
        }
    }

    private static List<int> SleepersOf(int seconds) =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => int.TryParse(n, out _))
            .Where(n =>
            {
                try
                {
                    return File.ReadAllText($"/proc/{n}/cmdline").Replace('\0', ' ').Trim() == $"sleep {seconds}";
                }
                catch (IOException)
                {
                    return false;
                }
            })
            .Select(n => int.Parse(n!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
}
