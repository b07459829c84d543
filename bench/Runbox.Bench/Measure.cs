using System.Diagnostics;

namespace Runbox.Bench;

/// <summary>Latency percentiles and throughput of one way of running a job, measured in this run.</summary>
internal sealed record Measurement(string Name, int Concurrency, double P50Ms, double P99Ms, double JobsPerSecond)
{
    /// <summary>CPU time the whole machine spent per job (every process, the kernel's own work included).</summary>
    public double? MachineCpuMsPerJob { get; init; }

    /// <summary>CPU time this benchmark's own .NET process (the engine, for in-process jobs) spent per job.</summary>
    public double? ProcessCpuMsPerJob { get; init; }

    public override string ToString() =>
        $"{Name,-34} c={Concurrency,-2} p50 {P50Ms,8:F2} ms   p99 {P99Ms,8:F2} ms   {JobsPerSecond,8:F1} jobs/s" +
        (MachineCpuMsPerJob is { } cpu ? $"   cpu {cpu,6:F1} ms/job" : "") +
        (ProcessCpuMsPerJob is { } own ? $" ({own:F1} in .NET)" : "");
}

internal static class Measure
{
    /// <summary>
    /// How long the first kind of job of a run is run before anything is measured. .NET compiles each method quickly
    /// first and recompiles the ones called often, fully optimised, in the background over the first seconds; that
    /// compiling took about 1 ms of CPU per job and 1 ms of latency in a run of a few seconds. A server runs for longer,
    /// so its steady state is what is measured.
    /// </summary>
    public static readonly TimeSpan JitWarmUp = TimeSpan.FromSeconds(4);

    /// <summary>
    /// The pause between jobs for the idle-machine numbers. Jobs back to back keep both cores busy with what the job
    /// before left (its teardown, the next standby's fork); a job submitted now and then, as most are, finds them idle,
    /// and on a virtual machine waking an idle core takes its time.
    /// </summary>
    public static readonly TimeSpan IdleGap = TimeSpan.FromMilliseconds(20);

    /// <summary>Runs <paramref name="job"/> until <paramref name="duration"/> has passed (see <see cref="JitWarmUp"/>).</summary>
    public static async Task WarmUpAsync(Func<Task> job, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            await job();
        }
    }

    /// <summary>
    /// Runs <paramref name="job"/> <paramref name="count"/> times, <paramref name="concurrency"/> at once, each runner
    /// idle for <paramref name="pause"/> after each of its jobs (none by default: back to back).
    /// </summary>
    public static async Task<Measurement> RunAsync(string name, int count, int concurrency, Func<Task> job, int warmup = 5, TimeSpan pause = default)
    {
        for (var i = 0; i < warmup; i++)
        {
            await job();
        }
        var latencies = new double[count];
        var next = -1;
        var busyBefore = MachineCpu.BusyMs();
        var ownBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < count)
            {
                var start = Stopwatch.GetTimestamp();
                await job();
                latencies[index] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause);
                }
            }
        }));
        var elapsed = clock.Elapsed.TotalSeconds;
        var busy = MachineCpu.BusyMs() - busyBefore;
        Array.Sort(latencies);
        return new Measurement(name, concurrency, Percentile(latencies, 0.50), Percentile(latencies, 0.99), count / elapsed)
        {
            MachineCpuMsPerJob = busy / count,
            ProcessCpuMsPerJob = (Process.GetCurrentProcess().TotalProcessorTime - ownBefore).TotalMilliseconds / count,
        };
    }

    public static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
