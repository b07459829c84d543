using System.Diagnostics;
using System.Security.Cryptography;
using Xunit.Abstractions;

namespace Runbox.Cli.Tests;

/// <summary>
/// The <c>./runbox</c> wrapper at the repository's root, run with real bash and dotnet in a folder of its own whose
/// <c>src/Runbox.Cli</c> is a small program (a build of it takes seconds, not the CLI's half a minute). The program
/// prints a version the test writes into its source and the folder it runs from; given <c>serve</c>, it waits for
/// its stdin to close, as a server would run until stopped.
/// </summary>
public sealed class WrapperScriptTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "runbox-wrapper-tests-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly List<Process> _started = [];

    [Fact]
    public async Task Wrapper_BuildsIntoANewFolder_LeavingTheBuildARunningServerStartedFromAsItWas()
    {
        Prepare("one");
        var server = Start("serve");
        var (version, folder) = ParseLine(await server.StandardOutput.ReadLineAsync());
        Assert.Equal("one", version);
        var before = Hashes(folder);

        WriteVersion("two");
        var (code, stdout, stderr) = await RunAsync("hello");

        Assert.Equal(0, code);
        var (newVersion, newFolder) = ParseLine(stdout);
        Assert.Equal("two", newVersion);
        Assert.NotEqual(folder, newFolder);
        Assert.Equal(before, Hashes(folder));
        Assert.Contains($"runbox: running on an earlier build until restarted: pid {server.Id} (runbox serve).", stderr);

        // Stopped, the server's build is no one's: the next build removes it and keeps the one before itself.
        server.StandardInput.Close();
        await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        WriteVersion("three");
        (code, stdout, stderr) = await RunAsync("hello");

        Assert.Equal(0, code);
        Assert.Equal("three", ParseLine(stdout).Version);
        Assert.False(Directory.Exists(folder), "a build no process runs from is removed");
        Assert.True(Directory.Exists(newFolder), "the build before the newest is kept");
        Assert.DoesNotContain("earlier build", stderr);
    }

    [Fact]
    public async Task Wrapper_BuildsOnce_WhenTwoCommandsStartTogetherAfterAChange()
    {
        Prepare("one");

        var results = await Task.WhenAll(RunAsync("a"), RunAsync("b"));

        Assert.All(results, r => Assert.Equal(0, r.ExitCode));
        Assert.Single(results, r => r.Stderr.Contains("runbox: building the CLI", StringComparison.Ordinal));
        Assert.Single(results.Select(r => ParseLine(r.Stdout).Folder).Distinct());
    }

    [Fact]
    public async Task Wrapper_ExitsWith1ShowingTheCompilerError_AndKeepsThePreviousBuild_WhenTheBuildFails()
    {
        Prepare("one");
        var (_, stdout, _) = await RunAsync("hello");
        var (_, folder) = ParseLine(stdout);
        var before = Hashes(folder);

        File.WriteAllText(Path.Combine(_root, "src", "Runbox.Cli", "Version.cs"), "static class Version { public const string Text = ; }\n");
        var (code, failedStdout, stderr) = await RunAsync("hello");

        Assert.Equal(1, code);
        Assert.Equal("", failedStdout);
        Assert.Contains("error CS1525", stderr);
        Assert.Contains("runbox: the build failed (log: .runbox/build.log); the previous build is left as it was.", stderr);
        Assert.Equal(before, Hashes(folder));
        Assert.Single(Directory.GetDirectories(Path.Combine(_root, ".runbox", "builds")));
    }

    [Fact]
    public async Task Wrapper_BuildsAndRuns_WhenStderrIsClosed()
    {
        Prepare("one");

        var (code, stdout, _) = await RunAsync(closeStderr: true, "hello");

        Assert.Equal(0, code);
        Assert.Equal("one", ParseLine(stdout).Version);
    }

    [Fact]
    public async Task Wrapper_SaysOnStdoutWhyItCannotRun_WhenStderrIsClosedAndTheBuildFails()
    {
        Prepare("one");
        File.WriteAllText(Path.Combine(_root, "src", "Runbox.Cli", "Version.cs"), "static class Version { public const string Text = ; }\n");

        var (code, stdout, _) = await RunAsync(closeStderr: true, "hello");

        Assert.Equal(1, code);
        Assert.Contains("error CS1525", stdout);
        Assert.Contains("runbox: the build failed (log: .runbox/build.log).", stdout);
    }

    /// <summary>The wrapper as the repository has it, beside a small <c>src/Runbox.Cli</c> saying <paramref name="version"/>.</summary>
    private void Prepare(string version)
    {
        var project = Path.Combine(_root, "src", "Runbox.Cli");
        Directory.CreateDirectory(project);
        File.Copy(Path.Combine(RepositoryRoot(), "runbox"), Path.Combine(_root, "runbox"));
        File.WriteAllText(Path.Combine(_root, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(_root, "Directory.Packages.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(project, "Runbox.Cli.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <AssemblyName>runbox</AssemblyName>
              </PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Program.cs"), """
            System.Console.WriteLine(Version.Text + " " + System.AppContext.BaseDirectory);
            if (args.Length == 1 && args[0] == "serve")
            {
                System.Console.In.ReadToEnd();
            }
            """);
        WriteVersion(version);
    }

    private void WriteVersion(string version) =>
        File.WriteAllText(Path.Combine(_root, "src", "Runbox.Cli", "Version.cs"), $"static class Version {{ public const string Text = \"{version}\"; }}\n");

    private Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = _root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(_root, "runbox"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start)!;
        _started.Add(process);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                output.WriteLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        return process;
    }

    private Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(closeStderr: false, args);

    /// <summary>Runs the wrapper to its end; with <paramref name="closeStderr"/>, as <c>./runbox ARGS 2>&amp;-</c>.</summary>
    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(bool closeStderr, params string[] args)
    {
        var start = new ProcessStartInfo("bash") { WorkingDirectory = _root, RedirectStandardOutput = true, RedirectStandardError = true };
        if (closeStderr)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("exec bash \"$0\" \"$@\" 2>&-");
        }
        start.ArgumentList.Add(Path.Combine(_root, "runbox"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        output.WriteLine($"runbox {string.Join(' ', args)}: exit {process.ExitCode}\n{await stdout}{await stderr}");
        return (process.ExitCode, await stdout, await stderr);
    }

    private static (string Version, string Folder) ParseLine(string? line)
    {
        var parts = (line ?? "").Trim().Split(' ', 2);
        Assert.True(parts.Length == 2, $"the program printed '{line}', not its version and folder");
        return (parts[0], parts[1].TrimEnd('/'));
    }

    /// <summary>Every file of a build folder with a hash of its bytes.</summary>
    private static Dictionary<string, string> Hashes(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(folder, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Runbox.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no Runbox.slnx above {AppContext.BaseDirectory}");
    }

    public void Dispose()
    {
        foreach (var process in _started)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
            process.Dispose();
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
