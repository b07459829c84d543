using System.Diagnostics;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;

namespace Runbox.Bench;

/// <summary>
/// A job importing the heaviest module the system Python has (pandas, scipy or numpy from Debian packages), run cold
/// (a fresh interpreter, as <c>python script.py</c>), forked from a zygote without preloads, and forked from a
/// runtime that preloads the module. The ratio cold / preloaded is the point of preloading (target: at least 50x).
/// </summary>
public static class RuntimeBench
{
    private const string SystemPython = "/usr/bin/python3";
    private const int Warmup = 3;
    private const int Runs = 30;

    public static async Task RunAsync()
    {
        var module = HeaviestModule();
        if (module is null)
        {
            Console.WriteLine($"runtime bench skipped: {SystemPython} has none of pandas, scipy, numpy (apt-get install python3-numpy)");
            return;
        }
        var workRoot = $"/tmp/rbr-{Environment.ProcessId}"; // short: control socket paths must fit 108 bytes
        try
        {
            await using var engine = new JobEngine(new EngineOptions
            {
                WorkRoot = workRoot,
                Slots = 1,
                Runtimes =
                [
                    new RuntimeDefinition { Name = "plain", PythonPath = SystemPython },
                    new RuntimeDefinition { Name = "preloaded", PythonPath = SystemPython, Preload = [module] },
                ],
            });
            var errors = await engine.WarmUpAsync("preloaded");
            if (errors.Count > 0)
            {
                throw new InvalidOperationException($"preloading {module} failed: {string.Join("; ", errors.Values)}");
            }
            var script = $"import {module}\nprint({module}.__version__)\n";
            // The engine's own per-job cost (fork, sandbox, cgroup, output): what no preload can remove.
            var floor = await MeasureAsync(engine, new JobRequest { Runtime = "preloaded", Script = "print('hello')" });
            var cold = await MeasureAsync(engine, new JobRequest { Runtime = "plain", Script = script, Fresh = true });
            var plain = await MeasureAsync(engine, new JobRequest { Runtime = "plain", Script = script });
            var preloaded = await MeasureAsync(engine, new JobRequest { Runtime = "preloaded", Script = script });
            Console.WriteLine($"import {module} ({SystemPython}), p50 of {Runs} jobs:");
            Console.WriteLine($"  cold (fresh interpreter):     {cold,9:F2} ms");
            Console.WriteLine($"  zygote fork, no preload:      {plain,9:F2} ms");
            Console.WriteLine($"  zygote fork, {module} preloaded: {preloaded,9:F2} ms");
            Console.WriteLine($"  hello world (the per-job floor): {floor,9:F2} ms");
            Console.WriteLine($"  cold / preloaded: {cold / preloaded:F1}x (target: at least 50x)");
            Console.WriteLine($"  import cost above the floor: cold {cold - floor:F2} ms, preloaded {Math.Max(0, preloaded - floor):F2} ms");
        }
        finally
        {
            if (Directory.Exists(workRoot))
            {
                Directory.Delete(workRoot, recursive: true);
            }
        }
    }

    private static string? HeaviestModule()
    {
        foreach (var module in new[] { "pandas", "scipy", "numpy" })
        {
            using var probe = Process.Start(new ProcessStartInfo(SystemPython, ["-c", $"import {module}"]) { RedirectStandardError = true, UseShellExecute = false });
            if (probe is null)
            {
                return null;
            }
            probe.WaitForExit();
            if (probe.ExitCode == 0)
            {
                return module;
            }
        }
        return null;
    }

    private static async Task<double> MeasureAsync(IJobEngine engine, JobRequest request)
    {
        var times = new List<double>();
        for (var i = 0; i < Warmup + Runs; i++)
        {
            var clock = Stopwatch.StartNew();
            var result = await engine.RunAsync(request);
            clock.Stop();
            if (result.Status != JobStatus.Succeeded)
            {
                throw new InvalidOperationException($"the import job failed: {result.Status} {result.Error} {System.Text.Encoding.UTF8.GetString(result.Stderr)}");
            }
            if (i >= Warmup)
            {
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
