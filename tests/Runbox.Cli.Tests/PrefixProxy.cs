using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Runbox.Cli.Tests;

/// <summary>
/// A reverse proxy in front of a real server, as a user has Runbox at http://host/runbox/: what comes under /runbox goes
/// to the server without the prefix (streamed, for live output); anything else gets 404, as from the proxy's own site.
/// </summary>
internal sealed class PrefixProxy : IAsyncDisposable
{
    public const string Prefix = "/runbox";

    private readonly WebApplication _app;

    private readonly HttpClient _upstream;

    private PrefixProxy(WebApplication app, HttpClient upstream)
    {
        _app = app;
        _upstream = upstream;
    }

    /// <summary>The proxy's address with the prefix, without a trailing slash: http://127.0.0.1:PORT/runbox.</summary>
    public string Address => StandInServer.Address(_app).TrimEnd('/') + Prefix;

    public static async Task<PrefixProxy> StartAsync(string server)
    {
        var upstream = new HttpClient { BaseAddress = new Uri(server), Timeout = Timeout.InfiniteTimeSpan };
        var app = await StandInServer.StartAsync(app => app.Run(context => ForwardAsync(context, upstream)));
        return new PrefixProxy(app, upstream);
    }

    private static async Task ForwardAsync(HttpContext context, HttpClient upstream)
    {
        if (!context.Request.Path.StartsWithSegments(Prefix, out var rest))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await context.Response.WriteAsync("Not Found (no such page on the proxy's site)");
            return;
        }
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), rest.ToUriComponent() + context.Request.QueryString.ToUriComponent());
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            request.Content = new StreamContent(context.Request.Body);
        }
        foreach (var (name, values) in context.Request.Headers)
        {
            if (name is "Host" or "Content-Length" or "Transfer-Encoding")
            {
                continue;
            }
            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values);
            }
        }
        using var response = await upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (name is not "Transfer-Encoding")
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }
        // Each piece as it comes, flushed: a live stream's lines must not wait for the job's end.
        await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        var buffer = new byte[8192];
        int read;
        while ((read = await body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }
}
