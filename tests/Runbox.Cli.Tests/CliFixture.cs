using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Runbox.Server;

namespace Runbox.Cli.Tests;

/// <summary>A real server on 127.0.0.1 and a way to run the real CLI (the built runbox.dll) against it.</summary>
public class CliFixture : IAsyncLifetime
{
    private readonly string[] _settings;

    private WebApplication _app = null!;

    public CliFixture()
        : this([])
    {
    }

    /// <param name="settings">More server settings, as <c>--Runbox:RateLimit:Burst=1</c>.</param>
    protected CliFixture(string[] settings)
    {
        _settings = settings;
    }

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "runbox-cli-tests-" + Guid.NewGuid().ToString("N")[..12]);

    public string Server { get; private set; } = "";

    public async Task InitializeAsync()
    {
        // Packages only from an empty local folder: an install fails at once, and nothing is fetched from elsewhere.
        var wheels = Directory.CreateDirectory(Path.Combine(DataDirectory, "wheels")).FullName;
        _app = RunboxApp.Build(["--urls=http://127.0.0.1:0", $"--Runbox:DataDirectory={DataDirectory}", "--Runbox:Workers=2",
            "--Runbox:Packages:Offline=true", $"--Runbox:Packages:FindLinks={wheels}", .. _settings], builder => builder.Logging.ClearProviders());
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

    /// <summary>An HTTP client for the server with the admin key the CLI finds in the data folder.</summary>
    public HttpClient AdminClient()
    {
        var client = new HttpClient { BaseAddress = new Uri(Server) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", File.ReadAllText(Path.Combine(DataDirectory, "admin.key")).Trim());
        return client;
    }

    /// <summary>Runs <c>runbox ARGS --server URL --data DIR [-- SCRIPT ARGS]</c> and returns its exit code and output.</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string? stdin, params string[] args) =>
        RunboxProcess.RunAsync(stdin, WithServer(args), TimeSpan.FromSeconds(90));

    /// <summary>As <see cref="RunAsync"/>, handing each line of stderr to <paramref name="onStderrLine"/> as it comes.</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> RunWatchingStderrAsync(Action<string> onStderrLine, params string[] args) =>
        RunboxProcess.RunAsync(null, WithServer(args), TimeSpan.FromSeconds(90), onStderrLine: onStderrLine);

    /// <summary>As <see cref="RunAsync"/> in bash with <paramref name="redirections"/> after the command (<c>&gt;&amp;-</c>).</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> RunRedirectedAsync(string redirections, params string[] args) =>
        RunboxProcess.RunRedirectedAsync(WithServer(args), redirections, TimeSpan.FromSeconds(90));

    private string[] WithServer(string[] args)
    {
        // Runbox's own options go before a "--": what follows it is the script's.
        var dash = Array.IndexOf(args, "--");
        string[] own = dash < 0 ? args : args[..dash], script = dash < 0 ? [] : args[dash..];
        return [.. own, "--server", Server, "--data", DataDirectory, .. script];
    }
}
