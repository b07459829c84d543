using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Http.Features;
using Runbox.Server.Http;

namespace Runbox.Server.Streaming;

/// <summary>
/// Writes server-sent events like <c>TypedResults.ServerSentEvents</c> (same headers, same bytes per event), and a
/// comment line <c>: keep-alive</c> whenever no event was written for <see cref="Interval"/>: proxies and browsers
/// drop a connection that stays silent, and a job may print nothing for minutes. SSE clients ignore comments.
/// </summary>
public sealed class KeepAliveEventStream(IAsyncEnumerable<SseItem<string>> events, TimeSpan interval, TimeProvider time) : IResult
{
    private static readonly ReadOnlyMemory<byte> KeepAlive = ": keep-alive\n\n"u8.ToArray();

    public TimeSpan Interval => interval;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache,no-store";
        response.Headers.Pragma = "no-cache";
        response.Headers.ContentEncoding = "identity";
        httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();
        // Also when the server begins to stop: the stream ends cleanly and the client resumes elsewhere or later.
        var aborted = ServerStopping.OrAborted(httpContext);
        // Headers at once: a client of a queued job sees the stream open instead of waiting for the first line.
        await response.Body.FlushAsync(aborted);

        // The next event is awaited while keep-alives are written; its own token lets the finally block stop it
        // before the enumerator is disposed, whatever ended the loop.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var items = events.GetAsyncEnumerator(reading.Token);
        var next = items.MoveNextAsync().AsTask();
        try
        {
            while (true)
            {
                // A replay yields its events at once: the idle timer is armed only when the next one has to be waited for.
                if (!next.IsCompleted)
                {
                    using var quiet = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                    var idle = Task.Delay(interval, time, quiet.Token);
                    if (await Task.WhenAny(next, idle) != next)
                    {
                        if (aborted.IsCancellationRequested)
                        {
                            // The idle wait was cancelled: by the client (thrown) or the server stopping (ended).
                            httpContext.RequestAborted.ThrowIfCancellationRequested();
                            break;
                        }
                        await response.Body.WriteAsync(KeepAlive, aborted);
                        await response.Body.FlushAsync(aborted);
                        continue;
                    }
                    await quiet.CancelAsync();
                }
                bool more;
                try
                {
                    more = await next;
                }
                catch (OperationCanceledException) when (aborted.IsCancellationRequested && !httpContext.RequestAborted.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (StoreFault.Classify(e) == StoreFault.Unavailable)
                {
                    // The store went away mid-stream (a restart, a failover): end as when the server stops, and the client
                    // resumes from its last event. Thrown on, it aborted the connection and was logged as a server error.
                    ServerLog.StreamStoreUnavailable(httpContext.RequestServices.GetRequiredService<ILogger<KeepAliveEventStream>>(), httpContext.Request.Path, e.Message);
                    break;
                }
                if (!more)
                {
                    break;
                }
                await SseFormatter.WriteAsync(new[] { items.Current }.ToAsyncEnumerable(), response.Body, aborted);
                next = items.MoveNextAsync().AsTask();
            }
        }
        finally
        {
            await reading.CancelAsync();
            try
            {
                await next;
            }
            catch (Exception)
            {
                // Cancelled above, or the failure that ended the loop, which is already on its way up.
            }
            await items.DisposeAsync();
        }
    }
}
