using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Infrastructure;

/// <summary>The real <c>runbox serve</c> process (the built CLI through <c>dotnet</c>), its output copied to the test's.</summary>
public sealed class ServeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output;

    private ServeProcess(Process process, Uri address, System.Collections.Concurrent.ConcurrentQueue<string> output)
    {
        _process = process;
        Address = address;
        _output = output;
    }

    public Uri Address { get; }

    /// <summary>Every line it has written so far, stdout and stderr together.</summary>
    public IReadOnlyList<string> Output => _output.ToArray();

    public int Id => _process.Id;

    public static string CliDll
    {
        get
        {
            // tests/Runbox.Server.Tests/bin/<Configuration>/net10.0 → src/Runbox.Cli/bin/<Configuration>/net10.0
            var testBin = AppContext.BaseDirectory.TrimEnd('/');
            var path = testBin.Replace("/tests/Runbox.Server.Tests/", "/src/Runbox.Cli/", StringComparison.Ordinal);
            return Path.Combine(path, "runbox.dll");
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static Task<ServeProcess> StartAsync(string dataDirectory, int port, ITestOutputHelper output, params string[] extra) =>
        StartCommandAsync(["serve", "--urls", $"http://127.0.0.1:{port}", "--data", dataDirectory, .. extra], port, output, "serve");

    /// <summary>Runs a <c>runbox</c> command that must not start (serve, worker) to its end: its exit code and stderr.</summary>
    public static async Task<(int ExitCode, string Stderr)> RunToEndAsync(string[] cliArgs, ITestOutputHelper output, double seconds = 60)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { CliDll }.Concat(cliArgs))
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"runbox {cliArgs[0]} started rather than refusing to");
        }
        output.WriteLine(await stdout);
        output.WriteLine(await stderr);
        return (process.ExitCode, await stderr);
    }

    /// <summary>
    /// Any <c>runbox</c> command that answers /healthz on <paramref name="port"/> (serve, worker), ready once it does;
    /// <paramref name="environment"/> adds to or replaces the test's own variables in the node's.
    /// </summary>
    /// <remarks><paramref name="umask"/> (octal, e.g. "000") starts it under that umask, as a shell would.</remarks>
    public static async Task<ServeProcess> StartCommandAsync(
        string[] cliArgs, int port, ITestOutputHelper output, string label, IReadOnlyDictionary<string, string>? environment = null, string? umask = null)
    {
        var info = new ProcessStartInfo(umask is null ? "dotnet" : "/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (umask is not null)
        {
            // exec keeps the process id, so Kill and StopAsync reach the server itself.
            foreach (var arg in (string[])["-c", $"umask {umask} && exec dotnet \"$@\"", "sh"])
            {
                info.ArgumentList.Add(arg);
            }
        }
        // No debugger pipes or diagnostics socket in /tmp: nodes are killed, and a killed process never removes them.
        info.Environment["DOTNET_EnableDiagnostics"] = "0";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        foreach (var arg in new[] { CliDll }.Concat(cliArgs))
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info)!;
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Copy(string? line)
        {
            if (line is null)
            {
                return;
            }
            lines.Enqueue(line);
            try
            {
                output.WriteLine($"[{label} {process.Id}] {line}");
            }
            catch (InvalidOperationException)
            {
            }
        }
        process.OutputDataReceived += (_, e) => Copy(e.Data);
        process.ErrorDataReceived += (_, e) => Copy(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new ServeProcess(process, new Uri($"http://127.0.0.1:{port}"), lines);
        try
        {
            using var probe = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                Assert.False(process.HasExited, $"runbox {label} exited with {(process.HasExited ? process.ExitCode : 0)}");
                try
                {
                    if ((await probe.GetAsync("/healthz")).IsSuccessStatusCode)
                    {
                        return server;
                    }
                }
                catch (HttpRequestException)
                {
                }
                Assert.True(DateTime.UtcNow < deadline, $"runbox {label} did not answer /healthz within 60 s");
                await Task.Delay(200);
            }
        }
        catch
        {
            // The caller never gets it to dispose: a node left running would go on writing into a folder being removed.
            await server.DisposeAsync();
            throw;
        }
    }

    public HttpClient Client(string key) => new()
    {
        BaseAddress = Address,
        Timeout = TimeSpan.FromSeconds(60),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", key) },
    };

    /// <summary>SIGTERM, as a service manager stops it; its exit code once it has stopped.</summary>
    public async Task<int> StopAsync(double seconds = 60)
    {
        await SignalAsync("TERM");
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(seconds));
        return _process.ExitCode;
    }

    /// <summary>SIGSTOP: the node stalls, as in a long GC pause or a network partition; its job processes run on.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT: the node paused by <see cref="PauseAsync"/> goes on where it stopped.</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    /// <summary>SIGKILL: no shutdown code runs, as when the machine or the OOM killer takes the process.</summary>
    public async Task KillHardAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
