using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Runbox.Server.Configuration;

namespace Runbox.Bench.Soak;

/// <summary>
/// Whether a long-running <c>runbox serve</c> stays healthy: a real server process (this build's CLI) on a data
/// folder of its own gets <c>count</c> jobs of every kind (<see cref="SoakJobs.Mix"/>) paced over <c>minutes</c>, at
/// a concurrency going round 1 to 4, while its resources are sampled every 30 s (<see cref="ServerProbe"/>). Then it
/// idles a minute, is stopped with SIGTERM, and what it left is listed. Prints the samples, each kind's outcomes and
/// a summary of every measure at the start, its highest and at the end.
/// Run it niced: <c>nice -n 10 dotnet run -c Release --project bench/Runbox.Bench -- 3000 soak [minutes=15] [retention=DAYS]</c>.
/// </summary>
internal static class SoakBench
{
    private static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PhaseLength = TimeSpan.FromMinutes(1);

    public static async Task RunAsync(int count, double minutes, double retentionDays)
    {
        // With a retention (retention=0.0035 is 5 minutes, as a server kept for weeks would have jobs go after some
        // days) the database and the artifacts should level off; without one (the default of `runbox serve`) they grow
        // with the jobs kept, and the server's memory should not.
        await using var node = await BenchNode.StartAsync("serve", "--workers", "2",
            $"--Runbox:RetentionDays={retentionDays.ToString(CultureInfo.InvariantCulture)}",
            "--Runbox:RateLimit:RequestsPerSecond=1000", "--Runbox:RateLimit:Burst=2000",
            // The webhook jobs call back a receiver of this process on 127.0.0.1.
            "--Runbox:Webhooks:AllowPrivateAddresses=true");
        var workRoot = DataFolder.WorkRootFor(node.DataFolder);
        var key = (await File.ReadAllTextAsync(Path.Combine(node.DataFolder, "admin.key"))).Trim();
        await WaitReadyAsync(node.Address);
        using var jobs = new SoakJobs(node.Address, key, Path.Combine(node.DataFolder, "runbox.sock"));
        var counters = new RuntimeCounters(node.ProcessId, node.DataFolder);
        var probe = new ServerProbe(node.ProcessId, node.Address.Port, node.DataFolder, workRoot);
        Console.WriteLine($"Soak: {count} jobs over {minutes} min against runbox serve (pid {node.ProcessId}, {node.Address}, data {node.DataFolder}), " +
                          (retentionDays > 0 ? $"ended jobs deleted after {retentionDays * 24 * 60:F0} min" : "ended jobs kept (a third deleted by their clients)"));
        Console.WriteLine("The server's runtime read with: " + counters.Tools);

        // Every kind once, so each code path is compiled and each runtime's zygote started before the baseline.
        foreach (var kind in SoakJobs.Mix)
        {
            await kind.Run(jobs);
        }
        await Task.Delay(TimeSpan.FromSeconds(15));

        var clock = Stopwatch.StartNew();
        long done = 0;
        var samples = new List<ServerSample>();
        async Task SampleAsync()
        {
            var runtime = await counters.ReadAsync();
            var sample = probe.Read(clock.Elapsed, Interlocked.Read(ref done), runtime);
            samples.Add(sample);
            Console.WriteLine(sample);
        }
        Console.WriteLine(ServerSample.Header);
        await SampleAsync();
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(SampleEvery);
            while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
            {
                await SampleAsync();
            }
        });

        var outcomes = new ConcurrentDictionary<(string Kind, string Status), int>();
        var surprises = new ConcurrentQueue<string>();
        var random = new Random(20261204);
        var weights = SoakJobs.Mix.Sum(k => k.Weight);
        var plan = Enumerable.Range(0, count).Select(_ => Pick(random.Next(weights))).ToArray();
        var spacing = TimeSpan.FromMinutes(minutes) / count;
        var next = -1;
        async Task Loop(int lane)
        {
            while (true)
            {
                // Lane k works only while the phase's concurrency is above k: 1, 2, 3, 4, 1, ...
                while ((int)(clock.Elapsed / PhaseLength) % 4 < lane && Volatile.Read(ref next) < count - 1)
                {
                    await Task.Delay(200);
                }
                var index = Interlocked.Increment(ref next);
                if (index >= count)
                {
                    return;
                }
                var due = spacing * index - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due);
                }
                var kind = plan[index];
                string status;
                try
                {
                    status = await kind.Run(jobs);
                }
                catch (Exception e)
                {
                    status = "exception " + SoakJobs.Describe(e);
                }
                outcomes.AddOrUpdate((kind.Name, status), 1, (_, n) => n + 1);
                if (status != kind.Expected)
                {
                    surprises.Enqueue($"{clock.Elapsed.TotalMinutes:F1}m {kind.Name}: {status}");
                }
                Interlocked.Increment(ref done);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 4).Select(Loop));
        Console.WriteLine($"-- {count} jobs sent in {clock.Elapsed.TotalMinutes:F1} min; idle for a minute --");
        await Task.Delay(TimeSpan.FromSeconds(65));
        await stop.CancelAsync();
        try
        {
            await sampler;
        }
        catch (OperationCanceledException)
        {
        }
        await SampleAsync();

        Console.WriteLine();
        Console.WriteLine("Outcomes (kind: status x count; * = not the status the kind should end with):");
        foreach (var kind in SoakJobs.Mix)
        {
            var line = string.Join(", ", outcomes.Where(o => o.Key.Kind == kind.Name).OrderByDescending(o => o.Value)
                .Select(o => $"{(o.Key.Status == kind.Expected ? "" : "*")}{o.Key.Status} x{o.Value}"));
            Console.WriteLine($"  {kind.Name,-26} {line}");
        }
        foreach (var surprise in surprises.Take(20))
        {
            Console.WriteLine("  ! " + surprise);
        }
        PrintSummary(samples);

        var left = await StopAndListLeftoversAsync(node, workRoot);
        Console.WriteLine(left.Count == 0 ? "After SIGTERM the server left nothing behind." : "After SIGTERM the server left:");
        foreach (var item in left)
        {
            Console.WriteLine("  " + item);
        }
    }

    private static SoakJobs.Kind Pick(int roll)
    {
        foreach (var kind in SoakJobs.Mix)
        {
            if ((roll -= kind.Weight) < 0)
            {
                return kind;
            }
        }
        throw new InvalidOperationException("weights");
    }

    private static void PrintSummary(List<ServerSample> samples)
    {
        var first = samples[0];
        var last = samples[^1];
        Console.WriteLine();
        Console.WriteLine($"Summary: first sample (after warm-up) / highest / last (after a minute idle), {last.JobsDone} jobs in {last.At.TotalMinutes:F1} min");
        void Row(string name, Func<ServerSample, double?> value, string format = "F0")
        {
            string Show(double? v) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "-";
            var high = samples.Select(value).Max();
            Console.WriteLine($"  {name,-34} {Show(value(first)),9} {Show(high),9} {Show(value(last)),9}");
        }
        Row("server resident memory (MB)", s => s.RssMb, "F1");
        Row("server live GC heap (MB)", s => s.LiveHeapMb, "F1");
        Row("server GC heap, last collection (MB)", s => s.GcHeapMb, "F1");
        Row("memory the GC holds (MB)", s => s.GcCommittedMb, "F1");
        Row("server timers", s => s.Timers);
        Row("server threads", s => s.Threads);
        Row("server open descriptors", s => s.Fds);
        Row("  of which sockets", s => s.Sockets);
        Row("TCP connections on its port", s => s.TcpOnPort);
        Row("  in CLOSE_WAIT", s => s.TcpCloseWait);
        Row("processes beneath the server", s => s.Descendants);
        Row("zygotes", s => s.Zygotes);
        Row("zygotes' resident memory (MB)", s => s.ZygoteRssMb, "F1");
        Row("inits", s => s.Inits);
        Row("inits' resident memory (MB)", s => s.InitRssMb, "F1");
        Row("standby and job processes", s => s.JobProcesses);
        Row("slot uids in use", s => s.SlotUids);
        Row("engine cgroups", s => s.Cgroups);
        Row("entries in the work root", s => s.WorkEntries);
        Row("entries in /tmp (all users)", s => s.TmpEntries);
        Row("runbox.db (MB)", s => s.DbMb, "F2");
        Row("runbox.db-wal (MB)", s => s.WalMb, "F2");
        Row("artifact files", s => s.ArtifactFiles);
        Row("server CPU (s)", s => s.CpuSeconds, "F1");
    }

    /// <summary>SIGTERM, as a service manager stops it; then what is left of it: processes, cgroups, folders.</summary>
    private static async Task<List<string>> StopAndListLeftoversAsync(BenchNode node, string workRoot)
    {
        var pid = node.ProcessId;
        var cgroups = ServerProbe.EngineCgroupParents(pid).ToList();
        var tree = ServerProbe.Descendants(pid).Select(p => p.Pid).ToList();
        await node.StopAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(2));
        var left = new List<string>();
        foreach (var process in tree)
        {
            try
            {
                var command = File.ReadAllText($"/proc/{process}/cmdline").Replace('\0', ' ');
                left.Add($"process {process}: {command[..Math.Min(120, command.Length)]}");
            }
            catch (IOException)
            {
                // Gone, as it should be.
            }
        }
        left.AddRange(cgroups.Where(Directory.Exists).Select(c => "cgroup " + c));
        if (Directory.Exists(workRoot))
        {
            left.AddRange(Directory.EnumerateDirectories(workRoot, $"engine-{pid}-*").Select(d => "work folder " + d));
        }
        return left;
    }

    private static async Task WaitReadyAsync(Uri server)
    {
        using var http = new HttpClient { BaseAddress = server };
        for (var attempt = 0; attempt < 300; attempt++)
        {
            using var response = await http.GetAsync("/readyz");
            if (response.IsSuccessStatusCode)
            {
                return;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("the server did not become ready: " + await http.GetStringAsync("/readyz"));
    }
}
