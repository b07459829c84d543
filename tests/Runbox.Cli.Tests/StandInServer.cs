using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Runbox.Cli.Tests;

/// <summary>A stand-in server on 127.0.0.1 for answers a Runbox server does not give on demand (a dropped stream, a proxy's page).</summary>
internal static class StandInServer
{
    /// <summary>Starts one that answers only what <paramref name="map"/> maps.</summary>
    public static async Task<WebApplication> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return app;
    }

    /// <summary>
    /// Runs the CLI with <paramref name="args"/> against a stand-in answering what <paramref name="map"/> maps (its
    /// address and the key "k" added), and stops the stand-in after, however the run ended.
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunCliAsync(Action<WebApplication> map, string? stdin, params string[] args)
    {
        var app = await StartAsync(map);
        try
        {
            return await RunboxProcess.RunAsync(stdin, [.. args, "--server", Address(app), "--key", "k"], TimeSpan.FromSeconds(60));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
}
