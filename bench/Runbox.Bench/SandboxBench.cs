using System.Diagnostics;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Bench;

/// <summary>Fast-path hello world with the full sandbox on and off, in one run: what the sandbox costs per job.</summary>
public static class SandboxBench
{
    private const int Warmup = 20;
    private const int Runs = 200;

    public static async Task RunAsync()
    {
        var workRoot = $"/tmp/rbb-{Environment.ProcessId}"; // short: control socket paths must fit 108 bytes
        try
        {
            var on = await MeasureAsync(new EngineOptions { WorkRoot = workRoot, Slots = 1 });
            var off = await MeasureAsync(new EngineOptions { WorkRoot = workRoot, Slots = 1, Sandbox = new SandboxOptions { Enabled = false } });
            Console.WriteLine($"sandbox on  ({on.Capabilities}): p50 {on.P50:F2} ms  p99 {on.P99:F2} ms");
            Console.WriteLine($"sandbox off: p50 {off.P50:F2} ms  p99 {off.P99:F2} ms");
            Console.WriteLine($"sandbox cost: p50 {on.P50 - off.P50:+0.00;-0.00} ms  p99 {on.P99 - off.P99:+0.00;-0.00} ms (target: at most 1 ms at p50)");
        }
        finally
        {
            if (Directory.Exists(workRoot))
            {
                Directory.Delete(workRoot, recursive: true);
            }
        }
    }

    private static async Task<(double P50, double P99, string Capabilities)> MeasureAsync(EngineOptions options)
    {
        await using var engine = new JobEngine(options);
        var request = new JobRequest { Script = "print('hello')" };
        var times = new List<double>();
        for (var i = 0; i < Warmup + Runs; i++)
        {
            var clock = Stopwatch.StartNew();
            var result = await engine.RunAsync(request);
            clock.Stop();
            if (result.Status != JobStatus.Succeeded)
            {
                throw new InvalidOperationException($"hello world failed: {result.Status} {result.Error}");
            }
            if (i >= Warmup)
            {
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
        }
        times.Sort();
        var caps = engine.Capabilities;
        var described = $"cgroups {caps.Cgroups ?? "none"}, pid ns {caps.PidNamespace}, net ns {caps.NetworkNamespace}, mount ns {caps.MountNamespace}, uids {caps.SeparateUids}";
        return (times[times.Count / 2], times[(int)(times.Count * 0.99)], described);
    }
}
