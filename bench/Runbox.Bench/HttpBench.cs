using System.Diagnostics;
using System.Net.Http.Json;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Bench;

/// <summary>
/// Issue 4's numbers: hello world through <c>POST /api/v1/jobs?wait=true</c> beside the engine alone, at
/// concurrency 1 and 16, and the idle memory of a real <c>runbox serve</c> process.
/// </summary>
internal static class HttpBench
{
    public static async Task RunAsync(int count)
    {
        await using (var server = await BenchServer.StartAsync(workers: 8))
        {
            var http = server.Http;
            var engine = server.Engine;

            async Task Http()
            {
                using var response = await http.PostAsJsonAsync("/api/v1/jobs?wait=true", new { script = "print('hello world')" });
                var body = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode || !body.Contains("\"succeeded\"", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"HTTP {(int)response.StatusCode}: {body}");
                }
            }
            async Task Engine()
            {
                var result = await engine.RunAsync(new JobRequest { Script = "print('hello world')" });
                if (result.Status != JobStatus.Succeeded)
                {
                    throw new InvalidOperationException($"engine: {result.Status} {result.Error}");
                }
            }

            Console.WriteLine($"HTTP service, hello world, {count} jobs each (8 worker slots, SQLite):");
            var rows = new List<(Measurement Engine, Measurement Http)>();
            await Measure.WarmUpAsync(Http, Measure.JitWarmUp);
            foreach (var concurrency in new[] { 1, 16 })
            {
                // A server's steady state: enough warm-up that JIT tiering of the HTTP path is not what is measured.
                rows.Add((await Measure.RunAsync("engine alone", count, concurrency, Engine, warmup: 50),
                          await Measure.RunAsync("POST /api/v1/jobs?wait=true", count, concurrency, Http, warmup: 50)));
            }
            foreach (var (e, h) in rows)
            {
                Console.WriteLine("  " + e);
                Console.WriteLine("  " + h);
                Console.WriteLine($"    HTTP p50 is {h.P50Ms / e.P50Ms:F2}x the engine's (target <= 2x); throughput {h.JobsPerSecond / e.JobsPerSecond:F2}x (target >= 0.5x)");
            }
        }
        await IdleMemoryAsync();
    }

    /// <summary>Starts `./runbox serve` as a user would, lets it settle, and reads its resident memory.</summary>
    private static async Task IdleMemoryAsync()
    {
        var root = RepositoryRoot();
        using var data = new TempDirectory();
        var port = FreePort();
        var start = new ProcessStartInfo(Path.Combine(root, "runbox"), ["serve", "--urls", $"http://127.0.0.1:{port}", "--data", data.Path])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        try
        {
            using var probe = new HttpClient();
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (true)
            {
                try
                {
                    if ((await probe.GetAsync($"http://127.0.0.1:{port}/healthz")).IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline)
                {
                }
                await Task.Delay(200);
            }
            await Task.Delay(TimeSpan.FromSeconds(5));
            var server = ResidentMegabytes(process.Id);
            var children = Descendants(process.Id).Sum(ResidentMegabytes);
            Console.WriteLine($"idle `runbox serve`: {server:F1} MB resident (target < 150 MB); its zygote and pooled job processes add {children:F1} MB");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Runbox.Testing.ServerFolders.Remove(data.Path);
        }
    }

    private static double ResidentMegabytes(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            return 0;
        }
    }

    private static IEnumerable<int> Descendants(int pid)
    {
        var found = new List<int>();
        var stack = new Stack<int>([pid]);
        while (stack.Count > 0)
        {
            var current = stack.Pop();
            foreach (var task in Directory.Exists($"/proc/{current}/task") ? Directory.GetDirectories($"/proc/{current}/task") : [])
            {
                try
                {
                    foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        var id = int.Parse(child, System.Globalization.CultureInfo.InvariantCulture);
                        found.Add(id);
                        stack.Push(id);
                    }
                }
                catch (IOException)
                {
                }
            }
        }
        return found;
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Runbox.slnx")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Run the benchmark from inside the Runbox repository.");
    }
}

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("runbox-bench-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
