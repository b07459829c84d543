using System.Diagnostics;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;

namespace Runbox.Bench;

/// <summary>
/// A job importing a heavy module of the system Python (Debian's <c>python3-pandas</c>, the largest available here, and
/// <c>python3-numpy</c>, which pandas is built on), each run cold (a fresh interpreter, as <c>python script.py</c>),
/// forked from a zygote without preloads, and forked from a runtime that preloads the module. The ratio cold /
/// preloaded is the point of preloading (target: at least 50x for the largest module). Both are printed: the job's
/// cost is about the same for either, so the ratio grows with what the import would have cost.
/// </summary>
public static class RuntimeBench
{
    private const string SystemPython = "/usr/bin/python3";
    private const int Warmup = 10;
    private const int Runs = 100;

    /// <summary>Largest first: the first one found is the issue's measure.</summary>
    private static readonly string[] Candidates = ["pandas", "numpy"];

    public static async Task RunAsync()
    {
        var modules = Candidates.Where(Importable).ToArray();
        if (modules.Length == 0)
        {
            Console.WriteLine($"runtime bench skipped: {SystemPython} has neither pandas nor numpy (apt-get install python3-pandas)");
            return;
        }
        if (modules[0] != Candidates[0])
        {
            Console.WriteLine($"runtime bench: {SystemPython} has no {Candidates[0]} (apt-get install python3-{Candidates[0]}); measuring {modules[0]}");
        }
        var workRoot = $"/tmp/rbr-{Environment.ProcessId}"; // short: control socket paths must fit 108 bytes
        try
        {
            await using var engine = new JobEngine(new EngineOptions
            {
                WorkRoot = workRoot,
                // As a default `runbox serve` (2 workers): with one slot, each job would also wait for the one before
                // it to be torn down (its uid is reused only then), which two slots take in turns.
                Slots = 2,
                Runtimes =
                [
                    new RuntimeDefinition { Name = "plain", PythonPath = SystemPython },
                    .. modules.Select(module => new RuntimeDefinition { Name = module, PythonPath = SystemPython, Preload = [module] }),
                ],
            });
            foreach (var module in modules)
            {
                await MeasureModuleAsync(engine, module);
            }
        }
        finally
        {
            if (Directory.Exists(workRoot))
            {
                Directory.Delete(workRoot, recursive: true);
            }
        }
    }

    private static async Task MeasureModuleAsync(IJobEngine engine, string module)
    {
        var errors = await engine.WarmUpAsync(module);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"preloading {module} failed: {string.Join("; ", errors.Values)}");
        }
        var script = $"import {module}\nprint({module}.__version__)\n";
        var cold = await MeasureAsync(engine, "cold (fresh interpreter)", new JobRequest { Runtime = "plain", Script = script, Fresh = true });
        var plain = await MeasureAsync(engine, "zygote fork, no preload", new JobRequest { Runtime = "plain", Script = script });
        var preloaded = await MeasureAsync(engine, $"zygote fork, {module} preloaded", new JobRequest { Runtime = module, Script = script });
        var preloadedIdle = await MeasureAsync(engine, "the same, 20 ms idle between", new JobRequest { Runtime = module, Script = script }, Measure.IdleGap);
        // The engine's own per-job cost (fork, sandbox, cgroup, output): what no preload can remove. Measured after
        // the others, as the preloaded job is, so that both find the engine in the same state.
        var floor = await MeasureAsync(engine, "hello world (the per-job floor)", new JobRequest { Runtime = module, Script = "print('hello')" });
        var small = await MeasureAsync(engine, "hello world, no preload", new JobRequest { Runtime = "plain", Script = "print('hello')" });
        // The best any fork-per-job runner reaches here: the script forked from a bare Python loop that imported it.
        var bare = await Floor.RunAsync(SystemPython, script, Runs, 1, [module], $"bare fork loop, {module} imported");
        Console.WriteLine($"import {module} ({SystemPython}), {Runs} jobs one at a time:");
        foreach (var measurement in new[] { cold, plain, preloaded, preloadedIdle, floor, small, bare })
        {
            Console.WriteLine("  " + measurement);
        }
        Console.WriteLine($"  cold / preloaded: {cold.P50Ms / preloaded.P50Ms:F1}x (target: at least 50x); with 20 ms idle between jobs {cold.P50Ms / preloadedIdle.P50Ms:F1}x; cold / the bare fork loop: {cold.P50Ms / bare.P50Ms:F1}x");
        Console.WriteLine($"  import cost above the floor: cold {cold.P50Ms - floor.P50Ms:F2} ms, preloaded {Math.Max(0, preloaded.P50Ms - floor.P50Ms):F2} ms");
    }

    private static bool Importable(string module)
    {
        using var probe = Process.Start(new ProcessStartInfo(SystemPython, ["-c", $"import {module}"]) { RedirectStandardError = true, UseShellExecute = false });
        if (probe is null)
        {
            return false;
        }
        probe.WaitForExit();
        return probe.ExitCode == 0;
    }

    private static async Task<Measurement> MeasureAsync(IJobEngine engine, string name, JobRequest request, TimeSpan pause = default) =>
        await Measure.RunAsync(name, Runs, 1, async () =>
        {
            var result = await engine.RunAsync(request);
            if (result.Status != JobStatus.Succeeded)
            {
                throw new InvalidOperationException($"the import job failed: {result.Status} {result.Error} {System.Text.Encoding.UTF8.GetString(result.Stderr)}");
            }
        }, Warmup, pause);
}
