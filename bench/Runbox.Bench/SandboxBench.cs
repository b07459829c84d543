using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Bench;

/// <summary>Fast-path hello world with the full sandbox on and off, in one run: what the sandbox costs per job.</summary>
public static class SandboxBench
{
    private const int Warmup = 30;
    private const int Runs = 200;

    public static async Task RunAsync()
    {
        var workRoot = $"/tmp/rbb-{Environment.ProcessId}"; // short: control socket paths must fit 108 bytes
        try
        {
            // The engine's default slots, and one slot: with one, each job also waits for the last one's processes to
            // be reaped before it may start (its slot, and uid, are reused), which the sandbox makes longer.
            foreach (var slots in new[] { new EngineOptions().Slots, 1 })
            {
                var (on, capabilities) = await MeasureAsync("sandbox on", new EngineOptions { WorkRoot = workRoot, Slots = slots });
                var (off, _) = await MeasureAsync("sandbox off", new EngineOptions { WorkRoot = workRoot, Slots = slots, Sandbox = new SandboxOptions { Enabled = false } });
                Console.WriteLine($"fast-path hello world, {Runs} jobs one at a time, {slots} slot(s); the sandbox on is: {capabilities}");
                Console.WriteLine("  " + on);
                Console.WriteLine("  " + off);
                Console.WriteLine($"  sandbox cost: p50 {on.P50Ms - off.P50Ms:+0.00;-0.00} ms  p99 {on.P99Ms - off.P99Ms:+0.00;-0.00} ms (target: at most 1 ms at p50)");
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

    private static async Task<(Measurement Measurement, string Capabilities)> MeasureAsync(string name, EngineOptions options)
    {
        await using var engine = new JobEngine(options);
        var request = new JobRequest { Script = "print('hello')" };
        async Task Job()
        {
            var result = await engine.RunAsync(request);
            if (result.Status != JobStatus.Succeeded)
            {
                throw new InvalidOperationException($"hello world failed: {result.Status} {result.Error}");
            }
        }
        // Both ways warmed alike, so the first measured does not pay for the JIT's work alone.
        await Measure.WarmUpAsync(Job, Measure.JitWarmUp);
        var measurement = await Measure.RunAsync(name, Runs, 1, Job, Warmup);
        var caps = engine.Capabilities;
        return (measurement, $"cgroups {caps.Cgroups ?? "none"}, pid ns {caps.PidNamespace}, net ns {caps.NetworkNamespace}, mount ns {caps.MountNamespace}, uids {caps.SeparateUids}, disk limit {caps.DiskLimit}");
    }
}
