using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Runbox.Server;

namespace Runbox.Cli.Tests;

/// <summary>A real server on 127.0.0.1 and a way to run the real CLI (the built runbox.dll) against it.</summary>
public sealed class CliFixture : IAsyncLifetime
{
    private WebApplication _app = null!;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "runbox-cli-tests-" + Guid.NewGuid().ToString("N")[..12]);

    public string Server { get; private set; } = "";

    public async Task InitializeAsync()
    {
        // Packages only from an empty local folder: an install fails at once, and nothing is fetched from elsewhere.
        var wheels = Directory.CreateDirectory(Path.Combine(DataDirectory, "wheels")).FullName;
        _app = RunboxApp.Build(["--urls=http://127.0.0.1:0", $"--Runbox:DataDirectory={DataDirectory}", "--Runbox:Workers=2",
            "--Runbox:Packages:Offline=true", $"--Runbox:Packages:FindLinks={wheels}"], builder => builder.Logging.ClearProviders());
        await _app.StartAsync();
        Server = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        // With the engine's work root beside it, which stays after a stop.
        Runbox.Testing.ServerFolders.Remove(DataDirectory);
    }

    /// <summary>Runs <c>runbox ARGS --server URL --data DIR [-- SCRIPT ARGS]</c> and returns its exit code and output.</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string? stdin, params string[] args)
    {
        // Runbox's own options go before a "--": what follows it is the script's.
        var dash = Array.IndexOf(args, "--");
        string[] own = dash < 0 ? args : args[..dash], script = dash < 0 ? [] : args[dash..];
        return RunboxProcess.RunAsync(stdin, [.. own, "--server", Server, "--data", DataDirectory, .. script], TimeSpan.FromSeconds(90));
    }
}
