using System.Diagnostics;

namespace Runbox.Bench;

/// <summary>Latency percentiles and throughput of one way of running a job, measured in this run.</summary>
internal sealed record Measurement(string Name, int Concurrency, double P50Ms, double P99Ms, double JobsPerSecond)
{
    public override string ToString() =>
        $"{Name,-34} c={Concurrency,-2} p50 {P50Ms,8:F2} ms   p99 {P99Ms,8:F2} ms   {JobsPerSecond,8:F1} jobs/s";
}

internal static class Measure
{
    /// <summary>Runs <paramref name="job"/> <paramref name="count"/> times, <paramref name="concurrency"/> at once.</summary>
    public static async Task<Measurement> RunAsync(string name, int count, int concurrency, Func<Task> job, int warmup = 5)
    {
        for (var i = 0; i < warmup; i++)
        {
            await job();
        }
        var latencies = new double[count];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < count)
            {
                var start = Stopwatch.GetTimestamp();
                await job();
                latencies[index] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }));
        var elapsed = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return new Measurement(name, concurrency, Percentile(latencies, 0.50), Percentile(latencies, 0.99), count / elapsed);
    }

    public static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
