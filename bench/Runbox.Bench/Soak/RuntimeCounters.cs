using System.Diagnostics;
using System.Globalization;

namespace Runbox.Bench.Soak;

/// <summary>
/// What the server's runtime says of itself: its live managed heap (after a full collection), its heap as the last
/// collection left it (garbage of older generations included, until a full collection takes it), the memory the GC
/// holds from the system (the rest of the resident memory is native: SQLite, the runtime, code), and its timers.
/// </summary>
internal sealed record RuntimeReading(double? LiveHeapMb, double? HeapMb, double? CommittedMb, int? Timers);

/// <summary>
/// Reads the server's runtime with the .NET diagnostics tools when they are installed
/// (<c>dotnet tool install -g dotnet-gcdump</c>, <c>dotnet tool install -g dotnet-counters</c>). The heap that counts for
/// a leak is what survives a full collection, which only <c>dotnet-gcdump</c> makes (a pause of about a second): the
/// counters' heap sizes are those of the last collection, which on a server with memory to spare is most often a
/// young one, so garbage in the old generation shows as growth there until a full collection comes. Without the tools
/// the readings are empty and the soak reports resident memory only.
/// </summary>
internal sealed class RuntimeCounters(int pid, string folder)
{
    private readonly string? _counters = Tool("dotnet-counters");
    private readonly string? _gcdump = Tool("dotnet-gcdump");

    public string Tools => string.Join(", ", new[] { _gcdump, _counters }.Where(t => t is not null).Select(Path.GetFileName)) is { Length: > 0 } found
        ? found
        : "none (dotnet tool install -g dotnet-gcdump; and dotnet-counters)";

    public async Task<RuntimeReading> ReadAsync()
    {
        var (heap, committed, timers) = await CountersAsync();
        return new RuntimeReading(await LiveHeapAsync(), heap, committed, timers);
    }

    private async Task<double?> LiveHeapAsync()
    {
        if (_gcdump is null)
        {
            return null;
        }
        var dump = Path.Combine(folder, "soak.gcdump");
        File.Delete(dump);
        if (await RunAsync(_gcdump, "collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", dump) is null || !File.Exists(dump))
        {
            return null;
        }
        // "     39,704,674  GC Heap bytes" leads the report.
        var report = await RunAsync(_gcdump, "report", dump);
        File.Delete(dump);
        var line = report?.Split('\n').FirstOrDefault(l => l.Contains("GC Heap bytes", StringComparison.Ordinal));
        return line is not null && long.TryParse(line.Trim().Split(' ')[0], NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var bytes)
            ? bytes / (1024.0 * 1024)
            : null;
    }

    private async Task<(double? HeapMb, double? CommittedMb, int? Timers)> CountersAsync()
    {
        if (_counters is null)
        {
            return (null, null, null);
        }
        // The tool writes its file only as it ends: a session of 3 s per reading.
        var csv = Path.Combine(folder, "soak-counters.csv");
        File.Delete(csv);
        await RunAsync(_counters, "collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "--refresh-interval", "2", "--duration", "00:00:00:03",
            "--counters", "System.Runtime[dotnet.gc.last_collection.heap.size,dotnet.gc.last_collection.memory.committed_size,dotnet.timer.count]", "--format", "csv", "-o", csv);
        if (!File.Exists(csv))
        {
            return (null, null, null);
        }
        // Timestamp,Provider,Counter Name,Counter Type,Mean/Increment: the heap comes as one row per generation at each report.
        var rows = (await File.ReadAllLinesAsync(csv)).Skip(1).Select(l => l.Split(',')).Where(f => f.Length >= 5).ToList();
        File.Delete(csv);
        if (rows.Count == 0)
        {
            return (null, null, null);
        }
        var latest = rows.Where(r => r[0] == rows[^1][0]).ToList();
        double Value(string[] row) => double.Parse(row[^1], NumberStyles.Float, CultureInfo.InvariantCulture);
        var heap = latest.Where(r => r[2].StartsWith("dotnet.gc.last_collection.heap.size", StringComparison.Ordinal)).ToList();
        var committed = latest.FirstOrDefault(r => r[2].StartsWith("dotnet.gc.last_collection.memory.committed_size", StringComparison.Ordinal));
        var timers = latest.FirstOrDefault(r => r[2].StartsWith("dotnet.timer.count", StringComparison.Ordinal));
        return (heap.Count == 0 ? null : heap.Sum(Value) / (1024 * 1024), committed is null ? null : Value(committed) / (1024 * 1024),
            timers is null ? null : (int)Value(timers));
    }

    /// <summary>The tool's output, or null when it failed or took longer than 30 s.</summary>
    private static async Task<string?> RunAsync(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            return null;
        }
        await errors;
        return process.ExitCode == 0 ? await output : null;
    }

    private static string? Tool(string name) =>
        new[] { Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", name) }
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Select(p => Path.Combine(p, name)))
            .FirstOrDefault(File.Exists);
}
