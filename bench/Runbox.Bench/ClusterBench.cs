using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Runbox.Testing;

namespace Runbox.Bench;

/// <summary>
/// Many machines: 200 jobs that each sleep 100 ms, run by one worker node and then by two of the same slots, each a real
/// process on a PostgreSQL cluster of the benchmark's own. Target: two nodes at least 1.8x the throughput of one.
/// Needs the CLI built in the same configuration (it is a build dependency of this project) and PostgreSQL's server
/// binaries (initdb, pg_ctl).
/// </summary>
public static class ClusterBench
{
    private const int Jobs = 200;
    private const int SlotsPerNode = 4;
    private const string Script = "import time\ntime.sleep(0.1)";
    private const int WarmRounds = 3; // each node settles within its first 200-400 jobs (printed)

    public static async Task RunAsync()
    {
        Console.WriteLine($"Cluster: {Jobs} jobs sleeping 100 ms, worker nodes of {SlotsPerNode} slots, one API node, PostgreSQL");
        // Every node runs on this one host: the ratio shows scaling only while the host has idle cores for the second node.
        Console.WriteLine($"  host: {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        await using var postgres = await PostgresServer.StartAsync();
        if (postgres.Unavailable is { } why)
        {
            Console.WriteLine($"  skipped: {why}");
            return;
        }
        var one = await MeasureAsync(postgres, nodes: 1);
        var two = await MeasureAsync(postgres, nodes: 2);
        Console.WriteLine($"  1 worker node : {one.Ended,7:F1} jobs/s ({one.Seen:F1} until the poller saw the end); {one.Slots}");
        Console.WriteLine($"                  {one.Cpu}");
        Console.WriteLine($"                  warming up, {WarmRounds} rounds of {Jobs}: {Warming(one.Warming)}");
        Console.WriteLine($"  2 worker nodes: {two.Ended,7:F1} jobs/s ({two.Seen:F1} until the poller saw the end); {two.Slots}");
        Console.WriteLine($"                  {two.Cpu}");
        Console.WriteLine($"                  warming up, {WarmRounds} rounds of {Jobs}: {Warming(two.Warming)}");
        Console.WriteLine($"  ratio {two.Ended / one.Ended:F2}x (target >= 1.8x; {two.Seen / one.Seen:F2}x by the poller); ideal {Jobs * 0.1 / SlotsPerNode:F1} s and {Jobs * 0.1 / SlotsPerNode / 2:F1} s of sleeping");
    }

    private static string Warming(List<NodeCpu> rounds) =>
        $"CPU per job: API node {string.Join(" / ", rounds.Select(r => $"{r.ApiMs:F1}"))} ms, worker nodes {string.Join(" / ", rounds.Select(r => $"{r.WorkersMs:F1}"))} ms";

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    /// <summary>
    /// Jobs per second from the first submission until the last job ended (its finished_at), and until the poller saw
    /// that (it looks every 50 ms, with two requests: up to a few percent of a run on two nodes).
    /// </summary>
    private static async Task<NodesRun> MeasureAsync(PostgresServer postgres, int nodes)
    {
        var store = await postgres.NewDatabaseAsync("runbox-bench");
        await using var api = await BenchNode.StartAsync("serve", "--store", store, "--no-worker");
        var workers = new List<BenchNode>();
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                workers.Add(await BenchNode.StartAsync("worker", "--store", store, "--name", $"bench-{i}", "--workers", SlotsPerNode.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
            var key = (await File.ReadAllTextAsync(Path.Combine(api.DataFolder, "admin.key"))).Trim();
            using var client = new HttpClient { BaseAddress = api.Address, Timeout = TimeSpan.FromSeconds(60) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

            // Warm every slot's zygote first, then run batches until the nodes' .NET code has settled: for its first few
            // hundred jobs a node compiles its hot methods again, optimized (tiered compilation), at several times the
            // CPU per job it takes after. Start-up is not what this measures.
            await RunBatchAsync(client, nodes * SlotsPerNode * 2);
            var warming = new List<NodeCpu>();
            for (var round = 0; round < WarmRounds; round++)
            {
                var before = CpuSnapshot.Take(api, workers);
                await RunBatchAsync(client, Jobs);
                warming.Add(before.PerJob(Jobs));
            }
            var start = DateTimeOffset.UtcNow;
            var clock = Stopwatch.StartNew();
            var measured = CpuSnapshot.Take(api, workers);
            var (lastEnd, slots) = await RunBatchAsync(client, Jobs);
            var seen = clock.Elapsed;
            var cpu = measured.PerJob(Jobs);
            return new(Jobs / (lastEnd - start).TotalSeconds, Jobs / seen.TotalSeconds, slots, cpu, warming);
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Where a worker slot's time went, medians: from a job's claim (its started_at) to its result (finished_at), the
    /// job's own wall time in the sandbox within that, and from a job's result to the same slot's next claim.
    /// </summary>
    private sealed record SlotTimes(double HeldMs, double WallMs, double GapMs)
    {
        public override string ToString() =>
            $"a job held its slot {HeldMs:F1} ms (the job itself {WallMs:F1}), then {GapMs:F1} ms to the slot's next claim (p50)";
    }

    /// <summary>One measured run: jobs per second by the jobs' records and by the poller, and where time and CPU went.</summary>
    private sealed record NodesRun(double Ended, double Seen, SlotTimes Slots, NodeCpu Cpu, List<NodeCpu> Warming);

    /// <summary>CPU time per job while the batch ran: the API node's process, the worker nodes' processes (without their
    /// zygotes and jobs), and everything the benchmark started (PostgreSQL and the poller too).</summary>
    private sealed record NodeCpu(double ApiMs, double WorkersMs, double AllMs, string Scope)
    {
        public override string ToString() =>
            $"CPU per job: API node {ApiMs:F1} ms, worker nodes {WorkersMs:F1} ms (.NET only), {Scope} {AllMs:F1} ms";
    }

    /// <summary>The CPU time the nodes' processes and the whole benchmark had used at one moment.</summary>
    private sealed record CpuSnapshot(BenchNode Api, IReadOnlyList<BenchNode> Workers, double ApiMs, double WorkersMs, double AllMs)
    {
        public static CpuSnapshot Take(BenchNode api, IReadOnlyList<BenchNode> workers) =>
            new(api, workers, api.CpuMs(), workers.Sum(w => w.CpuMs()), MachineCpu.BusyMs());

        /// <summary>What was used since, per job of the jobs run meanwhile.</summary>
        public NodeCpu PerJob(int jobs)
        {
            var now = Take(Api, Workers);
            return new((now.ApiMs - ApiMs) / jobs, (now.WorkersMs - WorkersMs) / jobs, (now.AllMs - AllMs) / jobs, MachineCpu.Scope);
        }
    }

    /// <summary>
    /// Submits count jobs, waits until none is queued or running, checks they all succeeded; returns when the last ended
    /// and where the slots' time went.
    /// </summary>
    private static async Task<(DateTimeOffset LastEnd, SlotTimes Slots)> RunBatchAsync(HttpClient client, int count)
    {
        var ids = new string[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            using var response = await client.PostAsJsonAsync("/api/v1/jobs", new Dictionary<string, string> { ["script"] = Script }, ct);
            response.EnsureSuccessStatusCode();
            ids[i] = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString()!;
        });
        // Two one-line pages per look, not the whole list: the API node shares the CPU with the workers being measured.
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (await AnyAsync(client, "queued") || await AnyAsync(client, "running"))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("jobs did not end within 5 minutes");
            }
            await Task.Delay(50);
        }
        var pending = new HashSet<string>(ids);
        var lastEnd = DateTimeOffset.MinValue;
        var runs = new List<(string Worker, DateTimeOffset Claimed, DateTimeOffset Finished, double WallMs)>();
        string? cursor = null;
        do
        {
            var page = await client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs?limit=100{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}");
            foreach (var job in page.GetProperty("jobs").EnumerateArray())
            {
                if (!pending.Remove(job.GetProperty("id").GetString()!))
                {
                    continue;
                }
                if (job.GetProperty("status").GetString() != "succeeded")
                {
                    throw new InvalidOperationException($"job {job.GetProperty("id")} ended {job.GetProperty("status")}: {job.GetProperty("error")}");
                }
                var finished = job.GetProperty("finished_at").GetDateTimeOffset();
                lastEnd = finished > lastEnd ? finished : lastEnd;
                runs.Add((job.GetProperty("worker").GetString()!, job.GetProperty("started_at").GetDateTimeOffset(), finished, job.GetProperty("wall_ms").GetDouble()));
            }
            cursor = page.TryGetProperty("next_cursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null && pending.Count > 0);
        if (pending.Count > 0)
        {
            throw new InvalidOperationException($"{pending.Count} jobs are missing from the list");
        }
        // A worker column names the node and its slot ("bench-0/3"): one slot's jobs ran one after another.
        var gaps = runs.GroupBy(r => r.Worker).SelectMany(slot =>
        {
            var ordered = slot.OrderBy(r => r.Claimed).ToList();
            return ordered.Zip(ordered.Skip(1), (previous, next) => (next.Claimed - previous.Finished).TotalMilliseconds);
        });
        return (lastEnd, new SlotTimes(
            Median(runs.Select(r => (r.Finished - r.Claimed).TotalMilliseconds)), Median(runs.Select(r => r.WallMs)), Median(gaps)));
    }

    private static double Median(IEnumerable<double> values) => Measure.Percentile([.. values.Order()], 0.5);

    private static async Task<bool> AnyAsync(HttpClient client, string status) =>
        (await client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs?status={status}&limit=1")).GetProperty("jobs").GetArrayLength() > 0;
}
