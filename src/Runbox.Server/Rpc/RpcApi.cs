using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Runbox.Server.Auth;
using Runbox.Server.Health;
using Runbox.Server.Http;
using Runbox.Server.Streaming;

namespace Runbox.Server.Rpc;

/// <summary>
/// JSON-RPC 2.0 at <c>POST /rpc</c> (single calls, batches, notifications), live session output at
/// <c>GET /sse/session/{id}</c> and <c>GET /discovery</c>. The same endpoints answer on the Unix socket, where the
/// file's permission is the authentication (see <see cref="RpcSocket"/>).
/// </summary>
public static class RpcApi
{
    public static IEndpointRouteBuilder MapRpcApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/rpc", HandleAsync)
            .RequireAuthorization()
            .WithName("JsonRpc")
            .WithSummary("JSON-RPC 2.0: session_* and runtime_* methods, batches and notifications.")
            .WithTags("JSON-RPC") // no Accepts<>: that would refuse clients that send another Content-Type with 415
            // The answer is JSON-RPC's own (results and errors alike, docs/rpc.md), which OpenAPI does not describe.
            .Produces(StatusCodes.Status200OK, typeof(JsonElement), "application/json")
            .Produces(StatusCodes.Status204NoContent);
        app.MapGet("/sse/session/{id}", SessionEventsAsync)
            .RequireAuthorization()
            .WithName("StreamSessionEvents")
            .WithSummary("A session's live output as server-sent events, replaying what was missed (Last-Event-ID / after_seq).")
            .WithTags("JSON-RPC")
            .Produces(StatusCodes.Status200OK, typeof(string), "text/event-stream");
        app.MapGet("/discovery", Discovery)
            .RequireAuthorization()
            .WithName("RpcDiscovery")
            .WithSummary("Service name, version and the JSON-RPC methods.")
            .WithTags("JSON-RPC");
        return app;
    }

    private static Ok<RpcDiscovery> Discovery() =>
        TypedResults.Ok(new RpcDiscovery("runbox", ServerVersion.Current, "jsonrpc-2.0", "/rpc", "/sse/session/{session_id}", RpcMethods.Names));

    private static async Task<IResult> SessionEventsAsync(
        string id, HttpContext http, ClaimsPrincipal user, Jobs.JobService jobs, StreamLimiter limiter, [FromQuery(Name = "after_seq")] long? afterSeq)
    {
        if (JobStreamsApi.ResumePoint(http, afterSeq, out var after) is { } problem)
        {
            return problem;
        }
        return await JobStreamsApi.ServerSentEventsAsync(http, id, Caller.From(user), jobs, limiter, after, "session");
    }

    /// <summary>
    /// The whole body parsed before any call runs, or null with the parse error's data. A bad string read only inside a
    /// method was an internal error there (and in an id, a 500); a member given twice silently meant the last one.
    /// </summary>
    private static (JsonDocument? Document, string Problem) Parse(ReadOnlyMemory<byte> body, int maxDepth)
    {
        if (body.IsEmpty)
        {
            return (null, "the body is empty; a request object or a batch array is required");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = maxDepth });
        }
        catch (JsonException e)
        {
            // The parser's words say where (line and byte) and what: a stray character, a nesting deeper than allowed.
            return (null, $"the body is not valid JSON: {RequestBody.Describe(e)}");
        }
        if (JsonTextFaults.Find(body.Span, maxDepth) is { } fault)
        {
            document.Dispose();
            return (null, $"{fault.Path}: {fault.Rule}");
        }
        return (document, "");
    }

    /// <summary>
    /// A batch's calls after its first from the key's rate limit, which took one for the request: a batch of 100
    /// session_start calls had cost one, a hundred times the jobs a key may submit through REST. False when the key has
    /// not as many left. A batch costs at most the burst in all, the most the bucket ever holds: asking the burst more
    /// after the request's own one refused a batch longer than the burst every time, however long its client waited.
    /// </summary>
    private static bool TakeBatchPermits(HttpContext http, JsonElement root, int burst)
    {
        if (root.ValueKind != JsonValueKind.Array || root.GetArrayLength() is < 2 or > RpcDispatcher.MaxBatch)
        {
            return true; // one call, or a batch refused as a whole (empty, too long) without running any
        }
        var limiter = http.RequestServices.GetRequiredService<IOptions<RateLimiterOptions>>().Value.GlobalLimiter;
        if (limiter is null)
        {
            return true;
        }
        var more = Math.Min(root.GetArrayLength() - 1, burst - 1);
        if (more <= 0)
        {
            return true; // the request's own permit was the whole burst
        }
        using var lease = limiter.AttemptAcquire(http, more);
        return lease.IsAcquired;
    }

    private static async Task HandleAsync(HttpContext http, ClaimsPrincipal user, RpcMethods methods)
    {
        var caller = Caller.From(user);
        byte[]? answer;
        if (BodyEncoding.Unsupported(http.Request) is { Header: "Content-Encoding" } encoding)
        {
            // The Content-Type is not checked (see MapRpcApi), but a compressed body cannot be read at all.
            answer = RpcResponse.Error(null, new RpcException(RpcException.ParseError, "Parse error", $"{encoding.Header}: {encoding.Rule}"));
        }
        else
        {
            // Read as REST reads its bodies, with the same cap; a body too big is still a parse error here, not a 413.
            var options = http.RequestServices.GetRequiredService<IOptions<Configuration.RunboxOptions>>().Value;
            var body = await RequestBody.ReadBytesAsync(http, options.MaxRequestBodyBytes);
            var (document, problem) = body is { } bytes
                ? Parse(bytes, options.MaxJsonDepth)
                : (null, $"the body is larger than the server accepts ({options.MaxRequestBodyBytes} bytes)");
            if (document is null)
            {
                // Malformed JSON (or too deep, or too large) is the spec's parse error, answered as JSON-RPC, not problem details.
                answer = RpcResponse.Error(null, new RpcException(RpcException.ParseError, "Parse error", problem));
            }
            else if (!TakeBatchPermits(http, document.RootElement, options.RateLimit.Burst))
            {
                document.Dispose();
                await RunboxApp.RejectRateLimitedAsync(http);
                return;
            }
            else
            {
                using (document)
                {
                    var context = new RpcCallContext(
                        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RpcDispatcher)),
                        System.Diagnostics.Activity.Current?.Id ?? http.TraceIdentifier);
                    answer = await RpcDispatcher.DispatchAsync(document.RootElement, methods, caller, context, http.RequestAborted);
                }
            }
        }
        if (answer is null)
        {
            http.Response.StatusCode = StatusCodes.Status204NoContent; // only notifications: nothing to answer
            return;
        }
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(answer, http.RequestAborted);
    }
}
