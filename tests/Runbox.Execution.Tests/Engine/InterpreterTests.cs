using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Engine;

/// <summary>
/// A Bash or Node.js job on an engine whose interpreter for it is missing: the host's fault, so the job ends as error
/// naming the option and the path (not failed with exit 127, as if the script were at fault), and the engine says so
/// from its start. The same for a Python runtime whose interpreter is missing.
/// </summary>
public sealed class InterpreterTests : IDisposable
{
    private readonly WorkRootFolder _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task BashJob_EndsAsError_NamingBashPath_WhenItDoesNotExist()
    {
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = _root.Path, BashPath = "/nonexistent/bash" });
        const string expected = "Bash jobs cannot run: EngineOptions.BashPath '/nonexistent/bash' does not exist";

        var result = await engine.RunAsync(new JobRequest { Language = JobLanguage.Bash, Script = "echo hi" });

        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Equal(expected, result.Error);
        Assert.Null(result.ExitCode);
        Assert.Contains(expected, engine.Capabilities.Warnings);
        // The rest of the engine works: the warning is about Bash jobs only.
        var python = await engine.RunAsync(new JobRequest { Script = "print('still here')" });
        Assert.Equal(JobStatus.Succeeded, python.Status);
        Assert.Equal("still here\n", Encoding.UTF8.GetString(python.Stdout));
        Assert.Contains(expected, engine.Capabilities.Warnings);
    }

    [Fact]
    public async Task BashJob_EndsAsError_WhenBashPathIsNotExecutable()
    {
        var file = Path.Combine(_root.Path, "bash");
        Directory.CreateDirectory(_root.Path);
        File.WriteAllText(file, "#!/bin/sh\necho not a program\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = _root.Path, BashPath = file });

        var result = await engine.RunAsync(new JobRequest { Language = JobLanguage.Bash, Script = "echo hi" });

        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Equal($"Bash jobs cannot run: EngineOptions.BashPath '{file}' is not executable", result.Error);
    }

    [Fact]
    public async Task Capabilities_HaveNoInterpreterWarning_WhenBashIsThere()
    {
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = _root.Path });

        Assert.DoesNotContain(engine.Capabilities.Warnings, w => w.Contains("cannot run", StringComparison.Ordinal));
        var result = await engine.RunAsync(new JobRequest { Language = JobLanguage.Bash, Script = "echo hi" });
        Assert.Equal(JobStatus.Succeeded, result.Status);
    }

    [Fact]
    public void Constructor_Throws_WhenNodePathIsNotAProgram()
    {
        var error = Assert.Throws<ArgumentException>(() => new JobEngine(new EngineOptions { WorkRoot = _root.Path, NodePath = "/etc/passwd" }));
        Assert.Contains("NodePath '/etc/passwd' is not executable.", error.Message);

        error = Assert.Throws<ArgumentException>(() => new JobEngine(new EngineOptions { WorkRoot = _root.Path, NodePath = "/usr" }));
        Assert.Contains("NodePath '/usr' is a folder, not a program.", error.Message);
    }

    [Fact]
    public async Task PythonJob_EndsAsError_NamingTheRuntimeAndItsPythonPath_WhenItDoesNotExist()
    {
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = _root.Path });
        engine.SetRuntime(new Runbox.Execution.Runtimes.RuntimeDefinition { Name = "gone", PythonPath = "/nonexistent/python3" });
        const string expected = "The zygote of runtime 'gone' cannot start: its PythonPath '/nonexistent/python3' does not exist";

        var result = await engine.RunAsync(new JobRequest { Runtime = "gone", Script = "print(1)" });

        // It was Process.Start's own message, naming the host's current directory and neither the runtime nor the option.
        Assert.Equal(JobStatus.Error, result.Status);
        Assert.StartsWith(expected, result.Error);
        var warmUp = await Assert.ThrowsAsync<InvalidOperationException>(() => engine.WarmUpAsync("gone"));
        Assert.StartsWith(expected, warmUp.Message);
    }
}
