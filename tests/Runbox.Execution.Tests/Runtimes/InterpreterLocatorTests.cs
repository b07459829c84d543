using Runbox.Execution.Runtimes;

namespace Runbox.Execution.Tests.Runtimes;

/// <summary>Which interpreter <c>python3</c> on PATH stands for, as the engine's default runtime takes it.</summary>
public sealed class InterpreterLocatorTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("runbox-locator-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The real interpreter, as its own sys.executable names it (no shim, no symlink of ours).</summary>
    private static string RealPython() => InterpreterLocator.ResolvePython();

    [Fact]
    public void ResolvePython_AsksAShimForItsInterpreter_WithoutTheSiteModulesOutput()
    {
        // A shim as pyenv's: a shell script running the real interpreter, here with a sitecustomize that prints (as a
        // noisy .pth file or site hook would). Its output must not end up in the interpreter's path.
        var site = Directory.CreateDirectory(Path.Combine(_folder, "site")).FullName;
        File.WriteAllText(Path.Combine(site, "sitecustomize.py"), "print('site says hello')\n");
        var shim = Path.Combine(_folder, "python3");
        File.WriteAllText(shim, $"#!/bin/sh\nPYTHONPATH='{site}' exec '{RealPython()}' \"$@\"\n");
        File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        Assert.Equal(RealPython(), InterpreterLocator.ResolvePython(shim));
    }

    [Fact]
    public void ResolvePython_TakesAProgramAsFound_KeepingASymlinksPath()
    {
        // A venv's python3 is a symlink whose own path matters (its pyvenv.cfg is found beside it).
        var link = Path.Combine(_folder, "python3");
        File.CreateSymbolicLink(link, RealPython());

        Assert.Equal(link, InterpreterLocator.ResolvePython(link));
    }

    [Fact]
    public void ResolvePython_SaysWhatIsMissing_WhenNothingIsFound()
    {
        var error = Assert.Throws<InvalidOperationException>(() => InterpreterLocator.ResolvePython(Path.Combine(_folder, "no-python3")));
        Assert.Contains("no-python3", error.Message);
    }
}
