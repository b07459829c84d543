using System.Diagnostics;
using System.Globalization;

namespace Runbox.Bench;

/// <summary>
/// The floor: a bare Python loop that forks, runs the same code in the child with its output on a pipe, and
/// collects it. No sandbox, no IPC with .NET: what a fork-per-job runner cannot beat. With modules to preload, the loop
/// imports them first (and freezes them, as the zygote does), so its children start from the same interpreter state
/// as a runtime's jobs.
/// </summary>
internal static class Floor
{
    private const string Loop = """
import gc, os, sys, time
for name in filter(None, sys.argv[3].split(",")):
    __import__(name)
gc.collect()
gc.freeze()
code = compile(sys.argv[2], "<job>", "exec")
n = int(sys.argv[1])
lat = []
for _ in range(n):
    t = time.perf_counter()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r); os.dup2(w, 1); os.close(w)
        exec(code, {"__name__": "__main__"})
        sys.stdout.flush()
        os._exit(0)
    os.close(w)
    out = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    lat.append((time.perf_counter() - t) * 1000)
print(" ".join("%.4f" % x for x in lat))
""";

    public static async Task<Measurement> RunAsync(string python, string code, int count, int concurrency, IReadOnlyList<string>? preload = null, string name = "floor: bare Python fork loop")
    {
        var busyBefore = MachineCpu.BusyMs();
        var clock = Stopwatch.StartNew();
        var parts = await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => LoopAsync(python, code, count / concurrency, preload ?? [])));
        var elapsed = clock.Elapsed.TotalSeconds;
        var latencies = parts.SelectMany(p => p).ToArray();
        Array.Sort(latencies);
        return new Measurement(name, concurrency, Measure.Percentile(latencies, 0.5), Measure.Percentile(latencies, 0.99), latencies.Length / elapsed)
        {
            MachineCpuMsPerJob = (MachineCpu.BusyMs() - busyBefore) / latencies.Length,
        };
    }

    private static async Task<double[]> LoopAsync(string python, string code, int count, IReadOnlyList<string> preload)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Loop);
        start.ArgumentList.Add(count.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(code);
        start.ArgumentList.Add(string.Join(',', preload));
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
    }
}
