using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Runbox.Bench;

/// <summary>A real <c>runbox serve</c> or <c>runbox worker</c> process (the built CLI through <c>dotnet</c>) for the cluster benchmark.</summary>
internal sealed class BenchNode : IAsyncDisposable
{
    private readonly Process _process;

    private BenchNode(Process process, Uri address, string dataFolder)
    {
        _process = process;
        Address = address;
        DataFolder = dataFolder;
    }

    public Uri Address { get; }

    public string DataFolder { get; }

    public int ProcessId => _process.Id;

    /// <summary>bench/Runbox.Bench/bin/&lt;Configuration&gt;/net10.0 → src/Runbox.Cli/bin/&lt;Configuration&gt;/net10.0/runbox.dll.</summary>
    public static string CliDll => Path.Combine(
        AppContext.BaseDirectory.TrimEnd('/').Replace("/bench/Runbox.Bench/", "/src/Runbox.Cli/", StringComparison.Ordinal), "runbox.dll");

    public static async Task<BenchNode> StartAsync(params string[] args)
    {
        var port = FreePort();
        var data = Directory.CreateTempSubdirectory("runbox-bench-node-").FullName;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { CliDll, args[0], "--urls", $"http://127.0.0.1:{port}", "--data", data }.Concat(args[1..]))
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start runbox");
        // Drained so the node never blocks on a full pipe; shown only if it dies.
        var lines = new List<string>();
        process.OutputDataReceived += (_, e) => { lock (lines) { if (e.Data is not null) { lines.Add(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { lock (lines) { if (e.Data is not null) { lines.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var node = new BenchNode(process, new Uri($"http://127.0.0.1:{port}"), data);
        using var probe = new HttpClient { BaseAddress = node.Address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"runbox {args[0]} exited: {string.Join('\n', lines)}");
            }
            try
            {
                if ((await probe.GetAsync("/healthz")).IsSuccessStatusCode)
                {
                    return node;
                }
            }
            catch (HttpRequestException)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"runbox {args[0]} did not answer /healthz within 60 s");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>CPU time of the node's own process so far (not its zygotes and jobs), from /proc (10 ms ticks).</summary>
    public double CpuMs()
    {
        // After the command's closing parenthesis: state is field 3, utime and stime fields 14 and 15.
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
    }

    /// <summary>Stops the node as a service manager does (SIGTERM), killing it only if it has not exited within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Runbox.Testing.ServerFolders.Remove(DataFolder);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
