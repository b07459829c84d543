using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Runbox.Cli.Tests;

/// <summary><c>runbox serve</c> as a user starts it: the built CLI in its own process.</summary>
public sealed class ServeCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "runbox-serve-tests-" + Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public async Task Serve_ExitsWithAMessage_WhenItsAddressIsTaken()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "runbox.dll"), "serve", "--urls", url, "--data", _data })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        output.WriteLine(await stderr);

        Assert.Equal(1, process.ExitCode);
        Assert.Contains($"runbox: cannot start: Failed to bind to address {url}: address already in use.", await stderr);
        Assert.DoesNotContain("Unhandled exception", await stderr);
        Assert.DoesNotContain("   at ", await stderr);
        _ = await stdout;
    }

    public void Dispose() => Runbox.Testing.ServerFolders.Remove(_data);
}
