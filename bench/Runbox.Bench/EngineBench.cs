using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;

namespace Runbox.Bench;

/// <summary>Issue 2's numbers: the fast path against a cold interpreter and against the bare fork floor.</summary>
internal static class EngineBench
{
    private const string Hello = "print('hello world')";

    // Heavy stdlib modules (and numpy where this interpreter has it): what a real script imports first.
    private static readonly string[] Heavy = ["asyncio", "decimal", "email.mime.multipart", "http.client", "json", "xml.etree.ElementTree",
        "sqlite3", "unittest", "logging.handlers", "argparse", "statistics", "ssl", "multiprocessing.pool", "urllib.request", "csv", "difflib", "inspect", "dataclasses", "typing", "tomllib"];

    /// <summary>/usr/bin/python3 when it is another interpreter than <paramref name="python"/>, else null.</summary>
    private static string? OtherSystemPython(string python)
    {
        const string System = "/usr/bin/python3";
        static string Real(string path) => new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(path);
        return File.Exists(System) && Real(System) != Real(python) ? System : null;
    }

    /// <summary>What to measure: everything, or (for profiling and quick comparisons) one part.</summary>
    public enum Part
    {
        All,
        FastPath,
        Heavy,
    }

    public static async Task RunAsync(int count, Part part = Part.All)
    {
        var python = InterpreterLocator.ResolvePython();
        var heavy = Heavy.Where(m => Importable(python, m)).ToArray();
        var heavyScript = string.Join("\n", heavy.Select(m => $"import {m}")) + "\nprint('imported')";
        var work = Directory.CreateTempSubdirectory("runbox-bench-").FullName;
        var helloFile = Path.Combine(work, "hello.py");
        var heavyFile = Path.Combine(work, "heavy.py");
        await File.WriteAllTextAsync(helloFile, Hello);
        await File.WriteAllTextAsync(heavyFile, heavyScript);

        var engine = new JobEngine(new EngineOptions
        {
            WorkRoot = Path.Combine(work, "engine"),
            Slots = 8,
            PoolSize = 4,
            Runtimes =
            [
                new RuntimeDefinition { Name = "default", PythonPath = python },
                new RuntimeDefinition { Name = "heavy", PythonPath = python, Preload = heavy },
            ],
        });
        try
        {
            await engine.WarmUpAsync("default");
            await engine.WarmUpAsync("heavy");
            async Task Job(string runtime, string script)
            {
                var result = await engine.RunAsync(new JobRequest { Script = script, Runtime = runtime });
                if (result.Status != JobStatus.Succeeded)
                {
                    throw new InvalidOperationException($"job {result.Status}: {result.Error} {System.Text.Encoding.UTF8.GetString(result.Stderr)}");
                }
            }

            Console.WriteLine($"Python {python}; sandbox: {(engine.Capabilities.FullyIsolated ? "full" : "partial")} " +
                $"(net {engine.Capabilities.NetworkNamespace}, mount {engine.Capabilities.MountNamespace}, pid {engine.Capabilities.PidNamespace}, uids {engine.Capabilities.SeparateUids})");
            Task<Measurement> IdleFastPath() =>
                Measure.RunAsync("(b) fast path, 20 ms idle between", count / 2, 1, () => Job("default", Hello), pause: Measure.IdleGap);

            await Measure.WarmUpAsync(() => Job("default", Hello), Measure.JitWarmUp);
            if (part == Part.FastPath)
            {
                // For profiling (perf record -a while it runs): the fast path alone, one job at a time.
                Console.WriteLine("  " + await Measure.RunAsync("(b) fast path (zygote + sandbox)", count, 1, () => Job("default", Hello)));
                Console.WriteLine("  " + await IdleFastPath());
                return;
            }
            if (part == Part.All)
            {
                await HelloWorldAsync();
            }
            async Task HelloWorldAsync()
            {
                Console.WriteLine($"hello world, {count} jobs each:");
                var results = new List<Measurement>();
                foreach (var concurrency in new[] { 1, 4 })
                {
                    results.Add(await Measure.RunAsync("(a) cold python3 subprocess", count / 2, concurrency, () => Cold.RunAsync(python, helloFile)));
                    results.Add(await Measure.RunAsync("(b) fast path (zygote + sandbox)", count, concurrency, () => Job("default", Hello), warmup: 30));
                    results.Add(await Floor.RunAsync(python, Hello, count, concurrency));
                }
                foreach (var r in results)
                {
                    Console.WriteLine("  " + r);
                }
                var cold1 = results[0];
                var fast1 = results[1];
                var floor1 = results[2];
                Console.WriteLine($"  fast path p50 is {cold1.P50Ms / fast1.P50Ms:F1}x lower than cold (target >= 15x); {fast1.P50Ms / floor1.P50Ms:F2}x the floor (target <= 2x)");
                Console.WriteLine($"  throughput c=4: fast path {results[4].JobsPerSecond:F0}/s vs cold {results[3].JobsPerSecond:F0}/s vs floor {results[5].JobsPerSecond:F0}/s");
                Console.WriteLine("  " + await IdleFastPath());
                if (OtherSystemPython(python) is { } system)
                {
                    // The cold baseline depends on the interpreter's own start (a site-packages .pth file that imports
                    // something makes it slower): the distribution's python3 beside it, for reference only.
                    Console.WriteLine("  " + await Measure.RunAsync($"(ref) cold {system}", count / 4, 1, () => Cold.RunAsync(system, helloFile)));
                }
            }

            Console.WriteLine($"heavy imports ({heavy.Length} modules: {string.Join(", ", heavy)}):");
            var coldHeavy = await Measure.RunAsync("cold python3 importing them", 20, 1, () => Cold.RunAsync(python, heavyFile), warmup: 2);
            var preloaded = await Measure.RunAsync("fast path, modules preloaded", 100, 1, () => Job("heavy", heavyScript));
            var preloadedIdle = await Measure.RunAsync("the same, 20 ms idle between", 50, 1, () => Job("heavy", heavyScript), pause: Measure.IdleGap);
            // What the ratio could be at best here: the same script forked from a bare Python loop that imported them.
            var heavyFloor = await Floor.RunAsync(python, heavyScript, 100, 1, heavy, "bare fork loop, them imported");
            Console.WriteLine("  " + coldHeavy);
            Console.WriteLine("  " + preloaded);
            Console.WriteLine("  " + preloadedIdle);
            Console.WriteLine("  " + heavyFloor);
            Console.WriteLine($"  preloaded is {coldHeavy.P50Ms / preloaded.P50Ms:F1}x faster than cold (target >= 50x); " +
                $"with 20 ms idle between jobs {coldHeavy.P50Ms / preloadedIdle.P50Ms:F1}x; " +
                $"the bare fork loop {coldHeavy.P50Ms / heavyFloor.P50Ms:F1}x; preloaded is {preloaded.P50Ms / heavyFloor.P50Ms:F2}x that loop");
        }
        finally
        {
            // The engine first: its slots' disk mounts are in the folder.
            await engine.DisposeAsync();
            Directory.Delete(work, recursive: true);
        }
    }

    private static bool Importable(string python, string module)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(python, ["-c", $"import {module}"]) { RedirectStandardError = true })!;
        process.WaitForExit();
        return process.ExitCode == 0;
    }
}
