using System.Text.Json;

namespace Runbox.Cli.Tests.Exec;

/// <summary><c>runbox exec</c> end to end: the built CLI run as a user would, through <c>dotnet runbox.dll</c>.</summary>
public sealed class ExecCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("runbox-cli-").FullName;

    private static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string stdin, params string[] args) =>
        RunboxProcess.RunAsync(stdin, args, TimeSpan.FromSeconds(60),
            new Dictionary<string, string> { ["RUNBOX_WORK_ROOT"] = Path.Combine(Path.GetTempPath(), "runbox-cli-work") });

    private string Script(string name, string content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public async Task Exec_StreamsOutput_PassesStdinAndArgs_AndExitsWithScriptCode()
    {
        var script = Script("echo.py", "import sys\nprint('args', sys.argv[1:])\nprint('stdin', sys.stdin.read().strip())\nprint('oops', file=sys.stderr)\nsys.exit(5)");
        var (code, stdout, stderr) = await RunAsync("from stdin\n", "exec", script, "--", "a", "b");
        Assert.Equal(5, code);
        Assert.Equal("args ['a', 'b']\nstdin from stdin\n", stdout);
        Assert.Equal("oops\n", stderr);
    }

    [Fact]
    public async Task Exec_WritesEachLineWithItsNewlineAtOnce_SoStreamsInterleaveWholeOnOneTerminal()
    {
        // Pauses between the streams: they reach the CLI on two sockets, so only time orders them.
        var script = Script("both.py", "import sys, time\nprint('out 0', flush=True)\ntime.sleep(0.3)\nprint('err 0', file=sys.stderr, flush=True)\n" +
            "time.sleep(0.3)\nprint('out 1', flush=True)\nsys.stdout.write('no newline')");
        // As on a terminal: both streams into one.
        var (code, combined, _) = await RunboxProcess.RunAsync(null, ["exec", script], TimeSpan.FromSeconds(60),
            new Dictionary<string, string> { ["RUNBOX_WORK_ROOT"] = Path.Combine(Path.GetTempPath(), "runbox-cli-work") }, mergeStderr: true);

        Assert.Equal(0, code);
        Assert.Equal("out 0\nerr 0\nout 1\nno newline", combined);
    }

    [Fact]
    public async Task Exec_WritesTheLiveOutputByteForByte_WhenItIsNotUtf8()
    {
        // A character that an overlong line's 64 KiB pieces cut in two comes out whole too.
        var script = Script("bytes.py", "import sys\nsys.stdout.buffer.write(b'\\xff\\xfe\\n')\nsys.stdout.buffer.write(b'x' * 65535 + 'é'.encode() + b'\\n')\n");
        var (code, stdout, stderr) = await RunboxProcess.RunForBytesAsync(["exec", script], TimeSpan.FromSeconds(60),
            new Dictionary<string, string> { ["RUNBOX_WORK_ROOT"] = Path.Combine(Path.GetTempPath(), "runbox-cli-work") });

        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Equal([0xff, 0xfe, (byte)'\n', .. Enumerable.Repeat((byte)'x', 65535), 0xc3, 0xa9, (byte)'\n'], stdout);
    }

    [Fact]
    public async Task Exec_PassesWordsStartingWithAt_AsTheyAre()
    {
        var script = Script("args.py", "import sys\nprint(sys.argv[1:])");
        var (code, stdout, stderr) = await RunAsync("", "exec", script, "@alice", "--", "@bob");
        Assert.Equal(0, code);
        Assert.Equal("['@alice', '@bob']\n", stdout);
        Assert.Equal("", stderr);
    }

    [Fact]
    public async Task Exec_ReadsScriptFromStdin_WhenFileIsDash()
    {
        var (code, stdout, _) = await RunAsync("print('from dash')", "exec", "-");
        Assert.Equal(0, code);
        Assert.Equal("from dash\n", stdout);
    }

    [Fact]
    public async Task Exec_PrintsResultJson_WithSnakeCaseFields()
    {
        var script = Script("json.py", "print('hi')\nopen('made.txt','w').write('x')");
        var (code, stdout, _) = await RunAsync("", "exec", script, "--json");
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("succeeded", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("hi\n", json.RootElement.GetProperty("stdout").GetString());
        Assert.Equal("none", json.RootElement.GetProperty("limit_exceeded").GetString());
        Assert.Equal("made.txt", json.RootElement.GetProperty("artifacts")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Exec_PrintsJsonText_AsWritten_WithoutEscapingQuotesAndNonAscii()
    {
        // As `jobs get` prints it: "it's é <a&b>", not "it\u0027s \u00E9 \u003Ca\u0026b\u003E".
        var script = Script("text.py", "print(\"it's \u00e9 <a&b>\")");
        var (code, stdout, _) = await RunAsync("", "exec", script, "--json");
        Assert.Equal(0, code);
        Assert.Contains("\"stdout\":\"it's \u00e9 <a&b>\\n\"", stdout);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("it's \u00e9 <a&b>\n", json.RootElement.GetProperty("stdout").GetString());
    }

    [Fact]
    public async Task Exec_LetsTheScriptPrintMoreThanTheDefaultMegabyte_WithOutput()
    {
        var script = Script("loud.py", "import sys\nsys.stdout.write('x' * 2_000_000)\n");

        var (code, stdout, stderr) = await RunAsync("", "exec", script, "--output", "3");

        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.Equal(2_000_000, stdout.Length);
    }

    [Fact]
    public async Task Exec_ExitsWith128PlusSignal_AndNamesTimeout()
    {
        var script = Script("slow.sh", "echo start; sleep 30");
        var (code, stdout, stderr) = await RunAsync("", "exec", script, "--timeout", "1");
        Assert.Equal(128 + 9, code);
        Assert.Equal("start\n", stdout);
        Assert.Contains("wall_time limit exceeded", stderr);
    }

    [SkippableFact]
    public async Task Exec_NamesTheDiskLimit_WhenTheScriptFillsItsFolder()
    {
        // Job folders are size-limited tmpfs mounts only where the engine may mount.
        if (Environment.UserName != "root")
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "CI runs as root, where job folders have a disk limit");
            Skip.If(true, "the disk limit needs root");
        }
        var script = Script("fill.py", "with open('fill', 'wb') as f:\n    while True:\n        f.write(b'z' * 65536)");
        var (code, _, stderr) = await RunAsync("", "exec", script, "--disk", "1");
        Assert.Equal(1, code);
        Assert.Contains("No space left on device", stderr);
        Assert.Contains("disk limit exceeded", stderr);
    }

    [Fact]
    public async Task Exec_CopiesTheFilesTheScriptLeft_IntoTheSaveFolder_WithTheirPaths()
    {
        var script = Script("make.py", "import os\nos.makedirs('out/deep')\nopen('out/deep/r.txt','w').write('deep')\nopen('top.csv','w').write('a,b')");
        var saved = Path.Combine(_directory, "saved");

        var (code, _, stderr) = await RunAsync("", "exec", script, "--save", saved);

        Assert.Equal(0, code);
        Assert.Equal("deep", File.ReadAllText(Path.Combine(saved, "out", "deep", "r.txt")));
        Assert.Equal("a,b", File.ReadAllText(Path.Combine(saved, "top.csv")));
        // The script itself was an input, not something the job made.
        Assert.False(File.Exists(Path.Combine(saved, "make.py")));
        Assert.Contains($"2 artifacts saved in {saved}", stderr);
    }

    [Theory]
    [InlineData("x.txt", "--lang", "cobol", "unknown language 'cobol'")]
    [InlineData("made.py", "--save", "/proc/runbox-nowhere", "cannot save artifacts in /proc/runbox-nowhere")]
    [InlineData("made.py", "--save", "", "runbox: --save needs a folder, not an empty name\n")]
    [InlineData("argv.py", "--timeot", "1", "unknown option '--timeot'")]
    public async Task Exec_ExitsWith2NamingTheWrongArgument_RatherThanRunTheScript(string name, string option, string value, string message)
    {
        var script = Script(name, "import sys\nprint(sys.argv[1:])");
        var (code, stdout, stderr) = await RunAsync("", "exec", script, option, value);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(message, stderr);
    }

    [Fact]
    public async Task Exec_StopsTheScriptSayingWhy_WhenStdoutIsAFullDevice()
    {
        // Prints, then would sleep for a minute: only the failed write can end it early.
        var script = Script("full.py", "import time\nprint('out', flush=True)\ntime.sleep(60)\nprint('never')");

        var (code, _, stderr) = await RunboxProcess.RunRedirectedAsync(["exec", script], ">/dev/full", TimeSpan.FromSeconds(30),
            new Dictionary<string, string> { ["RUNBOX_WORK_ROOT"] = Path.Combine(Path.GetTempPath(), "runbox-cli-work") });

        // A full disk is no reader gone (141): the write failed, and the command says so.
        Assert.Equal((1, "runbox: cannot write the script's output: No space left on device; the script was stopped\n"), (code, stderr));
    }

    [Fact]
    public async Task ExecJson_SaysWhyInOneLine_WhenStdoutIsAFullDevice()
    {
        // It died of an unhandled exception, its stack trace on stderr.
        var script = Script("full-json.py", "print('out')");

        var (code, _, stderr) = await RunboxProcess.RunRedirectedAsync(["exec", script, "--json"], ">/dev/full", TimeSpan.FromSeconds(30),
            new Dictionary<string, string> { ["RUNBOX_WORK_ROOT"] = Path.Combine(Path.GetTempPath(), "runbox-cli-work") });

        Assert.Equal((1, "runbox: cannot write the script's result: No space left on device\n"), (code, stderr));
    }

    [Fact]
    public async Task Exec_ExitsWith2SayingSo_WhenTheScriptIsAFolder()
    {
        var (code, stdout, stderr) = await RunAsync("", "exec", _directory);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal($"runbox: cannot read {_directory}: it is a folder, not a script\n", stderr);
    }

    [Theory]
    [InlineData("--timeout", "NaN", "--timeout must be more than 0 and at most 2592000 seconds (30 days), not NaN")]
    [InlineData("--timeout", "1e300", "--timeout must be more than 0 and at most 2592000 seconds (30 days), not 1e300")]
    [InlineData("--timeout", "-1", "--timeout must be more than 0 and at most 2592000 seconds")]
    [InlineData("--cpu", "-1", "--cpu must be more than 0 and at most 2592000 seconds")]
    [InlineData("--cpu", "1e12", "--cpu must be more than 0 and at most 2592000 seconds (30 days), not 1e12")]
    [InlineData("--memory", "9223372036854775807", "--memory must be more than 0 and at most 1048576 MB (1 TiB), not 9223372036854775807")]
    [InlineData("--memory", "0", "--memory must be more than 0 and at most 1048576 MB")]
    [InlineData("--memory", "-5", "--memory must be more than 0 and at most 1048576 MB (1 TiB), not -5")]
    [InlineData("--disk", "0", "--disk must be more than 0 and at most 1048576 MB")]
    public async Task Exec_ExitsWith2NamingTheLimitAndItsRange_WhenALimitIsOutOfRange(string option, string value, string message)
    {
        var script = Script("limit.py", "print('ran')");
        var (code, stdout, stderr) = await RunAsync("", "exec", script, option, value);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"runbox: {message}", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task ExecJson_PrintsA25MbResult_WithinA256MbHeap_BytesNotUtf8AsReplacementCharacters()
    {
        // The output was made a string, then the whole result serialized into another: a 25 MB job died of an
        // OutOfMemoryException in 256 MB (a 50 MB one took 678 MB).
        var script = Script("large.py", "import sys\nline = b'x' * 99 + b'\\n'\nfor _ in range(250000):\n    sys.stdout.buffer.write(line)\n" +
            "sys.stdout.buffer.write(b'a\\xffb \\xe2\\x82 \\xf0\\x9f\\x98\\x80')\n");
        var (code, stdout, stderr) = await RunboxProcess.RunForBytesAsync(["exec", script, "--output", "30", "--json"], TimeSpan.FromSeconds(60),
            new Dictionary<string, string> { ["RUNBOX_WORK_ROOT"] = Path.Combine(Path.GetTempPath(), "runbox-cli-work"), ["DOTNET_GCHeapHardLimit"] = "0x10000000" });

        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(string.Concat(Enumerable.Repeat(new string('x', 99) + "\n", 250_000)) + "a\uFFFDb \uFFFD \U0001F600", json.GetProperty("stdout").GetString());
        Assert.Equal((byte)'\n', stdout[^1]);
    }

    [Fact]
    public async Task Exec_MakesNoSaveFolder_WhenTheScriptIsMissing()
    {
        var saved = Path.Combine(_directory, "saved");
        var (code, _, stderr) = await RunAsync("", "exec", Path.Combine(_directory, "missing.py"), "--save", saved);
        Assert.Equal(2, code);
        Assert.Contains("cannot read", stderr);
        Assert.False(Directory.Exists(saved));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
