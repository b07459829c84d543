using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Runbox.Server.Tests.Runtimes;

/// <summary>
/// Serves a wheel folder on 127.0.0.1 as a find-links page. The download of one wheel waits until the test releases
/// it, so an install is under way for as long as the test needs, without a sleep.
/// </summary>
public sealed class GatedWheelServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TaskCompletionSource _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private GatedWheelServer(WebApplication app) => _app = app;

    /// <summary>The find-links page, for <c>Runbox:Packages:FindLinks</c>.</summary>
    public string Url => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/";

    /// <summary>Completes when the installer asked for the gated wheel: it is installing now.</summary>
    public Task Requested => _requested.Task;

    public void Release() => _released.TrySetResult();

    /// <param name="gated">The start of the wheel's file name whose download waits for <see cref="Release"/>.</param>
    public static async Task<GatedWheelServer> StartAsync(string folder, string gated)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new GatedWheelServer(app);
        app.MapGet("/", () => Results.Content(
            "<html><body>" + string.Concat(Directory.GetFiles(folder, "*.whl").Select(Path.GetFileName).Select(f => $"<a href=\"{f}\">{f}</a>\n")) + "</body></html>",
            "text/html"));
        app.MapGet("/{file}", async (string file, HttpContext context) =>
        {
            var path = Path.Combine(folder, Path.GetFileName(file));
            if (!File.Exists(path))
            {
                return Results.NotFound();
            }
            if (file.StartsWith(gated, StringComparison.Ordinal))
            {
                server._requested.TrySetResult();
                await server._released.Task.WaitAsync(context.RequestAborted);
            }
            context.Response.Headers.CacheControl = "no-store";
            return Results.File(path, "application/octet-stream");
        });
        await app.StartAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.DisposeAsync();
    }
}
