using System.Globalization;
using System.Net.ServerSentEvents;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Runbox.Server.Auth;
using Runbox.Server.Configuration;
using Runbox.Server.Http;
using Runbox.Server.Jobs;
using Runbox.Storage;
using Runbox.Storage.Jobs;

namespace Runbox.Server.Streaming;

/// <summary>
/// Live output: <c>/events</c> as server-sent events (<c>id:</c> = seq, <c>event: log</c>, a final <c>event: result</c>,
/// then the stream closes; <c>Last-Event-ID</c> resumes; <c>: keep-alive</c> comments while the job is silent) and <c>/ws</c> with the same messages over a WebSocket.
/// </summary>
public static class JobStreamsApi
{
    public static IEndpointRouteBuilder MapJobStreamsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/jobs").WithTags("Jobs").RequireAuthorization();
        group.MapGet("/{id}/events", EventsAsync)
            .WithName("StreamJobEvents")
            .WithSummary("Server-sent events: every log line (id = seq), then the result; Last-Event-ID or ?after_seq resumes.")
            .Produces(StatusCodes.Status200OK, typeof(string), "text/event-stream");
        group.MapGet("/{id}/ws", WebSocketAsync)
            .WithName("StreamJobWebSocket")
            .WithSummary("The same as /events over a WebSocket: JSON messages of type log, then result.")
            .Produces(StatusCodes.Status101SwitchingProtocols);
        return app;
    }

    /// <summary>The resume point: the Last-Event-ID header wins over ?after_seq. Null result with a problem when malformed.</summary>
    public static ProblemHttpResult? ResumePoint(HttpContext http, long? afterSeq, out long after)
    {
        after = afterSeq ?? 0;
        var header = http.Request.Headers["Last-Event-ID"].ToString();
        if (header.Length > 0)
        {
            if (!long.TryParse(header, NumberStyles.None, CultureInfo.InvariantCulture, out after))
            {
                return Problems.BadRequest("Last-Event-ID", "must be the sequence number of the last event received.");
            }
        }
        return after < 0 ? Problems.BadRequest("after_seq", "must be 0 or more.") : null;
    }

    /// <summary>
    /// Opens a job's event stream for <paramref name="caller"/>: 404 when not visible (naming it by the surface's word:
    /// job, task or session), 429 with Retry-After past the stream cap. The <c>result</c> event holds the ended job as
    /// <c>GET /api/v1/jobs/{id}</c> answers it, or what <paramref name="result"/> makes of it (the surface's own shape).
    /// A job deleted while streamed ends the stream with a <c>result</c> event of what <paramref name="deleted"/> makes
    /// of the job as last read, by default <see cref="JobMapping.ToDeletedResponse"/>: a client reading up to its
    /// <c>result</c> learns why, where a stream that just stopped sent it to resume only to be answered 404.
    /// </summary>
    public static async Task<IResult> ServerSentEventsAsync(
        HttpContext http, string id, Caller caller, JobService jobs, StreamLimiter limiter, long after, string what = "job",
        Func<JobRecord, string>? result = null, Func<JobRecord, string>? deleted = null)
    {
        var job = await jobs.FindAsync(id, caller, http.RequestAborted, withOutput: false, withSubmission: false);
        if (job is null)
        {
            return Problems.NotFound(what, id);
        }
        var lease = limiter.TryAcquire(caller.KeyId);
        if (lease is null)
        {
            return limiter.Refuse(http.Response);
        }
        http.Response.RegisterForDispose(lease);
        var keepAlive = TimeSpan.FromSeconds(http.RequestServices.GetRequiredService<IOptions<RunboxOptions>>().Value.StreamKeepAliveSeconds);
        return new KeepAliveEventStream(ToSse(jobs.Store, job, after, result, deleted, http.RequestAborted), keepAlive, http.RequestServices.GetRequiredService<TimeProvider>());
    }

    private static async Task<IResult> EventsAsync(
        string id, HttpContext http, ClaimsPrincipal user, JobService jobs, StreamLimiter limiter, [FromQuery(Name = "after_seq")] long? afterSeq)
    {
        if (ResumePoint(http, afterSeq, out var after) is { } problem)
        {
            return problem;
        }
        return await ServerSentEventsAsync(http, id, Caller.From(user), jobs, limiter, after);
    }

    private static async IAsyncEnumerable<SseItem<string>> ToSse(
        IJobStore store, JobRecord job, long after, Func<JobRecord, string>? result, Func<JobRecord, string>? deleted,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var id = job.Id;
        await foreach (var item in JobEventFeed.ReadAsync(store, id, after, cancellationToken, found: job))
        {
            if (item.Line is { } line)
            {
                var data = JsonSerializer.Serialize(line.ToResponse(), RunboxJsonContext.Default.LogLineResponse);
                yield return new SseItem<string>(data, "log") { EventId = line.Seq.ToString(CultureInfo.InvariantCulture) };
            }
            else if (item.Final is { } final)
            {
                var data = result is not null
                    ? result(final)
                    : JsonSerializer.Serialize(final.ToResponse(await store.ListArtifactsAsync(id, cancellationToken)), RunboxJsonContext.Default.JobResponse);
                yield return new SseItem<string>(data, "result");
            }
            else if (item.Deleted is { } gone)
            {
                var data = deleted is not null
                    ? deleted(gone)
                    : JsonSerializer.Serialize(gone.ToDeletedResponse(), RunboxJsonContext.Default.JobResponse);
                yield return new SseItem<string>(data, "result");
            }
        }
    }

    private static async Task<IResult> WebSocketAsync(
        string id, HttpContext http, ClaimsPrincipal user, JobService jobs, StreamLimiter limiter, [FromQuery(Name = "after_seq")] long? afterSeq)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            return Problems.BadRequest("Upgrade", "this endpoint needs a WebSocket upgrade request.");
        }
        if (afterSeq is < 0)
        {
            return Problems.BadRequest("after_seq", "must be 0 or more.");
        }
        var caller = Caller.From(user);
        var job = await jobs.FindAsync(id, caller, http.RequestAborted, withOutput: false, withSubmission: false);
        if (job is null)
        {
            return Problems.NotFound("job", id);
        }
        using var lease = limiter.TryAcquire(caller.KeyId);
        if (lease is null)
        {
            return limiter.Refuse(http.Response);
        }
        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        // The client sends nothing but a close; reading is how that close (or a dropped connection) is noticed. Its
        // token is not the server's stopping one: a cancelled receive aborts the socket, and no close could be sent.
        var reader = DrainAsync(socket, closed);
        var feed = CancellationTokenSource.CreateLinkedTokenSource(closed.Token, ServerStopping.OrAborted(http));
        http.Response.RegisterForDispose(feed);
        try
        {
            var reason = "job ended";
            await foreach (var item in JobEventFeed.ReadAsync(jobs.Store, id, afterSeq ?? 0, feed.Token, found: job))
            {
                StreamMessage message;
                if (item.Line is { } line)
                {
                    message = new StreamMessage { Type = "log", Seq = line.Seq, Timestamp = line.Timestamp, Stream = line.StreamName, Text = line.Text, Ended = line.Ended ? null : false };
                }
                else if (item.Final is { } final)
                {
                    var artifacts = await jobs.Store.ListArtifactsAsync(id, closed.Token);
                    message = new StreamMessage { Type = "result", Job = final.ToResponse(artifacts) };
                }
                else
                {
                    // Deleted while streamed: a result saying so, as /events ends, rather than a close a client
                    // would resume only to be answered 404.
                    message = new StreamMessage { Type = "result", Job = item.Deleted!.ToDeletedResponse() };
                    reason = "job deleted";
                }
                var bytes = JsonSerializer.SerializeToUtf8Bytes(message, RunboxJsonContext.Default.StreamMessage);
                await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, closed.Token);
            }
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, reason, CancellationToken.None);
            await reader.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (OperationCanceledException) when (!closed.IsCancellationRequested && socket.State == WebSocketState.Open)
        {
            // The server is stopping: say so, and the client reconnects and resumes.
            await CloseQuietlyAsync(socket, WebSocketCloseStatus.EndpointUnavailable, "server stopping");
            await reader.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (Exception e) when (StoreFault.Classify(e) == StoreFault.Unavailable && socket.State == WebSocketState.Open)
        {
            // The store went away mid-stream: closed as when the server stops, so the client resumes from its last event.
            ServerLog.StreamStoreUnavailable(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(JobStreamsApi)), http.Request.Path, e.Message);
            await CloseQuietlyAsync(socket, WebSocketCloseStatus.EndpointUnavailable, "store unavailable");
            await reader.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or TimeoutException)
        {
        }
        finally
        {
            await closed.CancelAsync();
        }
        return TypedResults.Empty;
    }

    private static async Task CloseQuietlyAsync(WebSocket socket, WebSocketCloseStatus status, string reason)
    {
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await socket.CloseOutputAsync(status, reason, deadline.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
    }

    private static async Task DrainAsync(WebSocket socket, CancellationTokenSource closed)
    {
        var buffer = new byte[1024];
        try
        {
            while (socket.State == WebSocketState.Open || socket.State == WebSocketState.CloseSent)
            {
                var result = await socket.ReceiveAsync(buffer, closed.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        finally
        {
            await closed.CancelAsync();
        }
    }
}
