using Runbox.Execution.Invocations;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Invocations;

/// <summary>
/// The python runner. Runs go through the real engine's zygote and skip with the reason while the engine is not
/// there; the rejections are decided before the engine and always run.
/// </summary>
public sealed class PythonRunnerTests(EngineFixture fixture) : IClassFixture<EngineFixture>, IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private ExecutorRuntime Runtime() => new(fixture.Engine);

    private RuntimeInvocation Invocation(string[] command, int? timeoutSeconds = 20, string runtimeName = "default") => new()
    {
        InvocationId = "py-1",
        RuntimeName = runtimeName,
        RuntimeKind = RuntimeKinds.Python,
        WorkingDirectory = _directory.Path,
        ArtifactDirectory = _directory.Combine("artifacts"),
        Command = command,
        TimeoutSeconds = timeoutSeconds,
    };

    private void Script(string name, string code)
    {
        var path = _directory.Combine(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, code);
    }

    [SkippableFact]
    public async Task RunAsync_RunsScriptAsMain_WhenCommandNamesScript()
    {
        fixture.Require();
        Script("hello.py", "import sys\nsys.stdout.write(f'{__name__} {sys.argv[1:]}\\n')\nprint('oops', file=sys.stderr)\n");
        var lines = new List<LogLine>();

        var result = await Runtime().RunAsync(Invocation(["hello.py", "a", "b c"]), onLogLine: lines.Add);

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("__main__ ['a', 'b c']\n", await File.ReadAllTextAsync(result.StdoutPath!));
        Assert.Equal("oops\n", await File.ReadAllTextAsync(result.StderrPath!));
        Assert.Contains(lines, line => line.Stream == LogStream.Stdout && line.Text == "__main__ ['a', 'b c']");
        Assert.Empty(result.Artifacts);
    }

    [SkippableFact]
    public async Task RunAsync_GivesTheCallbackTheExactBytes_OfALineThatIsNotUtf8()
    {
        fixture.Require();
        Script("bytes.py", "import sys\nsys.stdout.buffer.write(b'caf\\xe9\\n')\n");
        var lines = new List<LogLine>();

        await Runtime().RunAsync(Invocation(["bytes.py"]), onLogLine: lines.Add);

        var line = Assert.Single(lines, line => line.Stream == LogStream.Stdout);
        Assert.Equal("caf\uFFFD", line.Text);
        Assert.Equal(new byte[] { (byte)'c', (byte)'a', (byte)'f', 0xE9 }, line.Bytes);
    }

    [SkippableFact]
    public async Task RunAsync_DropsInterpreter_WhenCommandStartsWithPython()
    {
        fixture.Require();
        Script("hello.py", "print('hi')\n");

        var result = await Runtime().RunAsync(Invocation(["python3", "hello.py"]));

        Assert.Equal("hi\n", await File.ReadAllTextAsync(result.StdoutPath!));
    }

    [SkippableFact]
    public async Task RunAsync_RunsModuleAsMainWithoutLeavingLauncher_WhenCommandIsDashM()
    {
        fixture.Require();
        Script("pkg/__init__.py", "");
        Script("pkg/tool.py", "import sys\nif __name__ == '__main__':\n    print('tool', sys.argv[1:])\n");

        var result = await Runtime().RunAsync(Invocation(["-m", "pkg.tool", "x"]));

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        Assert.Equal("tool ['x']\n", await File.ReadAllTextAsync(result.StdoutPath!));
        Assert.Empty(Directory.GetFiles(_directory.Path, ".runbox_module_*"));
    }

    [SkippableFact]
    public async Task RunAsync_FailsWithExitCode_WhenScriptCallsSysExit()
    {
        fixture.Require();
        Script("exit.py", "import sys\nsys.exit(4)\n");

        var result = await Runtime().RunAsync(Invocation(["exit.py"]));

        Assert.Equal(RuntimeStatus.Failed, result.Status);
        Assert.Equal(4, result.ExitCode);
    }

    [SkippableFact]
    public async Task RunAsync_FailsWithTraceback_WhenScriptRaises()
    {
        fixture.Require();
        Script("boom.py", "raise ValueError('boom')\n");

        var result = await Runtime().RunAsync(Invocation(["boom.py"]));

        Assert.Equal(RuntimeStatus.Failed, result.Status);
        Assert.Equal(1, result.ExitCode);
        var stderr = await File.ReadAllTextAsync(result.StderrPath!);
        Assert.Contains("Traceback", stderr);
        Assert.Contains("ValueError: boom", stderr);
    }

    [SkippableFact]
    public async Task RunAsync_TimesOut_WhenScriptOutlastsDeadline()
    {
        fixture.Require();
        Script("forever.py", "import time\nwhile True:\n    time.sleep(1)\n");

        var result = await Runtime().RunAsync(Invocation(["forever.py"], timeoutSeconds: 1));

        Assert.Equal(RuntimeStatus.TimedOut, result.Status);
    }

    [SkippableFact]
    public async Task RunAsync_Rejects_WhenRuntimeIsUnknownToEngine()
    {
        fixture.Require();
        Script("hello.py", "print('hi')\n");

        var result = await Runtime().RunAsync(Invocation(["hello.py"], runtimeName: "no-such-runtime"));

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.NotNull(result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_Rejects_WhenScriptDoesNotExist()
    {
        var result = await Runtime().RunAsync(Invocation(["missing.py"]));

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains("'missing.py' does not exist", result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_Rejects_WhenScriptIsOutsideWorkingDirectory()
    {
        using var elsewhere = new TempDirectory();
        var outside = elsewhere.Combine("outside.py");
        await File.WriteAllTextAsync(outside, "print('hi')\n");

        var result = await Runtime().RunAsync(Invocation([outside]));

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains("outside working_directory", result.ErrorSummary);
    }

    [Theory]
    [InlineData("os; import shutil")]
    [InlineData("")]
    public async Task RunAsync_Rejects_WhenModuleNameIsNotDotted(string module)
    {
        var result = await Runtime().RunAsync(Invocation(["-m", module]));

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains("dotted module name", result.ErrorSummary);
    }

    [Theory]
    [InlineData("-c")]
    [InlineData("-u")]
    public async Task RunAsync_Rejects_WhenAnInterpreterOptionIsGiven(string option)
    {
        // A file named like the option must not be what runs.
        Script(option, "print('ran the file')\n");

        var result = await Runtime().RunAsync(Invocation(["python3", option, "print(1)"]));

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Equal($"The interpreter option '{option}' is not supported: give a script file or '-m module'.", result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_Rejects_WhenOnlyTheInterpreterIsGiven()
    {
        var result = await Runtime().RunAsync(Invocation(["python3"]));

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains("no script or module", result.ErrorSummary);
    }
}
