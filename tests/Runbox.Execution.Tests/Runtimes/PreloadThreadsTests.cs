using System.Diagnostics;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;

namespace Runbox.Execution.Tests.Runtimes;

/// <summary>
/// A preload that leaves a Python thread running: forking a process whose other thread may hold a lock can hang the
/// child, so the runtime refuses its jobs with a message saying why (docs/runtimes.md).
/// </summary>
public sealed class PreloadThreadsTests : IDisposable
{
    private readonly WorkRootFolder _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task APreloadThatStartsAThread_EndsTheRuntimesJobsAsErrors_SayingWhy()
    {
        var python = VenvWith("starts_thread", "import threading, time\nthreading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n");
        await using var engine = new JobEngine(new EngineOptions
        {
            WorkRoot = _root.Path,
            Slots = 1,
            Runtimes = [new RuntimeDefinition { Name = "threads", PythonPath = python, Preload = ["starts_thread"] }],
        });

        var result = await engine.RunAsync(new JobRequest { Runtime = "threads", Script = "print('ran')" }).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Contains("a preloaded module started threads", result.Error);
        Assert.Empty(result.Stdout);
    }

    /// <summary>A virtual environment (no pip: quick) whose site-packages holds one module.</summary>
    private string VenvWith(string module, string source)
    {
        var venv = Path.Combine(_root.Path, "venv");
        using (var make = Process.Start(new ProcessStartInfo(InterpreterLocator.ResolvePython(), ["-m", "venv", "--without-pip", venv]) { RedirectStandardError = true })!)
        {
            make.WaitForExit();
            Assert.True(make.ExitCode == 0, make.StandardError.ReadToEnd());
        }
        var sitePackages = Directory.GetDirectories(Path.Combine(venv, "lib")).Single();
        File.WriteAllText(Path.Combine(sitePackages, "site-packages", module + ".py"), source);
        return Path.Combine(venv, "bin", "python");
    }
}
