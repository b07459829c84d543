using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Runbox.Execution.Engine;
using Runbox.Server;
using Runbox.Testing;

namespace Runbox.Bench;

/// <summary>
/// A real server (the API and its worker) in the benchmark's process, on a data folder of its own, with an admin client
/// and its default runtime warmed up. The rate limit is out of the way: the benchmarks measure the service, not it.
/// </summary>
internal sealed class BenchServer : IAsyncDisposable
{
    private readonly TempDirectory _data;
    private readonly WebApplication _app;

    private BenchServer(TempDirectory data, WebApplication app, HttpClient http)
    {
        _data = data;
        _app = app;
        Http = http;
    }

    /// <summary>An admin client of the server.</summary>
    public HttpClient Http { get; }

    public IJobEngine Engine => _app.Services.GetRequiredService<IJobEngine>();

    /// <summary>Starts a server with <paramref name="workers"/> worker slots on SQLite, or on <paramref name="store"/> (a PostgreSQL connection string).</summary>
    public static async Task<BenchServer> StartAsync(int workers, string? store = null)
    {
        var data = new TempDirectory();
        string[] args =
        [
            "--urls=http://127.0.0.1:0", $"--Runbox:DataDirectory={data.Path}", $"--Runbox:Workers={workers}",
            "--Runbox:RateLimit:RequestsPerSecond=100000", "--Runbox:RateLimit:Burst=100000",
            .. store is null ? Array.Empty<string>() : [$"--Runbox:Store={store}"],
        ];
        var app = RunboxApp.Build(args, builder => builder.Logging.ClearProviders());
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var key = (await File.ReadAllTextAsync(Path.Combine(data.Path, "admin.key"))).Trim();
        var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var server = new BenchServer(data, app, http);
        await server.Engine.WarmUpAsync("default");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        ServerFolders.Remove(_data.Path);
        _data.Dispose();
    }
}
