using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Runbox.Testing;

namespace Runbox.Bench;

/// <summary>
/// How fast a chatty job's output gets into the store: a job printing many short lines through a real server (the API
/// and its worker in this process, as <see cref="HttpBench"/>), on SQLite and on a PostgreSQL cluster of the benchmark's
/// own when its binaries are there. Prints the time from submit to the result, the lines stored per second, and when
/// the last line was readable through <c>GET /api/v1/jobs/{id}/logs</c>; then how late a line of a quiet job shows
/// there (the live case the batching must not slow down).
/// </summary>
internal static class LogsBench
{
    /// <summary>How often the readers look: the timings are this coarse.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(10);

    private const int QuietLines = 20;

    public static async Task RunAsync(int thousands)
    {
        var lines = thousands * 1000;
        Console.WriteLine($"Logs: a job printing {lines:N0} short lines, through the HTTP API (load average {LoadAverage()})");
        await MeasureAsync("SQLite", null, lines);
        await using var postgres = await PostgresServer.StartAsync();
        if (postgres.Unavailable is { } why)
        {
            Console.WriteLine($"  PostgreSQL skipped: {why}");
            return;
        }
        await MeasureAsync("PostgreSQL", await postgres.NewDatabaseAsync("runbox-bench"), lines);
    }

    private static async Task MeasureAsync(string storeName, string? connectionString, int lines)
    {
        await using var server = await BenchServer.StartAsync(workers: 2, connectionString);
        var http = server.Http;

        // A first, smaller run warms the server's code paths (JIT); it is not printed.
        await ChattyAsync(http, Math.Min(lines, 20_000));
        var chatty = await ChattyAsync(http, lines);
        Console.WriteLine($"  {storeName,-10} result after {chatty.ResultS,6:F2} s (the job itself ran {chatty.JobS:F2} s); " +
            $"last line readable after {chatty.LastLineS,6:F2} s: {lines / chatty.LastLineS,9:N0} lines/s stored");
        var quiet = await QuietAsync(http);
        Console.WriteLine($"  {storeName,-10} a quiet job's line readable through /logs after p50 {quiet.P50Ms:F0} ms, max {quiet.MaxMs:F0} ms " +
            $"({QuietLines} lines 100 ms apart; polled every {Poll.TotalMilliseconds:F0} ms)");
    }

    private sealed record Chatty(double ResultS, double LastLineS, double JobS);

    /// <summary>Submits the job, then polls for its last line (seq = lines) and for its result, side by side.</summary>
    private static async Task<Chatty> ChattyAsync(HttpClient http, int lines)
    {
        var script = $"import sys\nw = sys.stdout.write\nfor i in range({lines}):\n    w(f'line {{i}}\\n')\n";
        var clock = Stopwatch.StartNew();
        var id = await SubmitAsync(http, script);
        var lastLine = Task.Run(async () =>
        {
            while (true)
            {
                var page = await http.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{id}/logs?after_seq={lines - 1}&limit=1");
                if (page.GetProperty("lines").GetArrayLength() > 0)
                {
                    return clock.Elapsed.TotalSeconds;
                }
                if (page.GetProperty("done").GetBoolean())
                {
                    throw new InvalidOperationException($"job {id} ended without line {lines}");
                }
                await Task.Delay(Poll);
            }
        });
        var (resultS, job) = await ResultAsync(http, id, clock);
        if (job.GetProperty("status").GetString() != "succeeded")
        {
            throw new InvalidOperationException($"job {id} ended {job.GetProperty("status")}: {job.GetProperty("error")}");
        }
        return new(resultS, await lastLine, job.GetProperty("wall_ms").GetDouble() / 1000);
    }

    private sealed record Quiet(double P50Ms, double MaxMs);

    /// <summary>A job printing a line every 100 ms, each holding when it was printed; how late each shows through /logs.</summary>
    private static async Task<Quiet> QuietAsync(HttpClient http)
    {
        var script = $"import time\nfor i in range({QuietLines}):\n    print(repr(time.time()), flush=True)\n    time.sleep(0.1)\n";
        var id = await SubmitAsync(http, script);
        var delays = new List<double>();
        long after = 0;
        while (delays.Count < QuietLines)
        {
            var page = await http.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{id}/logs?after_seq={after}");
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
            foreach (var line in page.GetProperty("lines").EnumerateArray())
            {
                after = line.GetProperty("seq").GetInt64();
                delays.Add((now - double.Parse(line.GetProperty("text").GetString()!, CultureInfo.InvariantCulture)) * 1000);
            }
            if (page.GetProperty("done").GetBoolean())
            {
                break;
            }
            await Task.Delay(Poll);
        }
        if (delays.Count < QuietLines)
        {
            throw new InvalidOperationException($"job {id} stored {delays.Count} of {QuietLines} lines");
        }
        var sorted = delays.Order().ToArray();
        return new(Measure.Percentile(sorted, 0.5), sorted[^1]);
    }

    private static async Task<string> SubmitAsync(HttpClient http, string script)
    {
        using var response = await http.PostAsJsonAsync("/api/v1/jobs", new
        {
            script,
            limits = new { output_bytes = 64L * 1024 * 1024, timeout_seconds = 600, cpu_seconds = 600 },
        });
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"HTTP {(int)response.StatusCode}: {body}");
        }
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<(double Seconds, JsonElement Job)> ResultAsync(HttpClient http, string id, Stopwatch clock)
    {
        while (true)
        {
            var job = await http.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{id}");
            if (job.GetProperty("status").GetString() is not ("queued" or "running"))
            {
                return (clock.Elapsed.TotalSeconds, job);
            }
            await Task.Delay(Poll);
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
