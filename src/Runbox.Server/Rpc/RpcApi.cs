using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Runbox.Server.Auth;
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
            .WithTags("JSON-RPC"); // no Accepts<>: that would refuse clients that send another Content-Type with 415
        app.MapGet("/sse/session/{id}", SessionEventsAsync)
            .RequireAuthorization()
            .WithName("StreamSessionEvents")
            .WithSummary("A session's live output as server-sent events, replaying what was missed (Last-Event-ID / after_seq).")
            .WithTags("JSON-RPC");
        app.MapGet("/discovery", Discovery)
            .RequireAuthorization()
            .WithName("RpcDiscovery")
            .WithSummary("Service name, version and the JSON-RPC methods.")
            .WithTags("JSON-RPC");
        return app;
    }

    private static Ok<RpcDiscovery> Discovery() =>
        TypedResults.Ok(new RpcDiscovery("runbox", RpcMethods.Version, "jsonrpc-2.0", "/rpc", "/sse/session/{session_id}", RpcMethods.Names));

    private static async Task<IResult> SessionEventsAsync(
        string id, HttpContext http, ClaimsPrincipal user, Jobs.JobService jobs, StreamLimiter limiter, [FromQuery(Name = "after_seq")] long? afterSeq)
    {
        if (JobStreamsApi.ResumePoint(http, afterSeq, out var after) is { } problem)
        {
            return problem;
        }
        return await JobStreamsApi.ServerSentEventsAsync(http, id, Caller.From(user), jobs, limiter, after);
    }

    /// <summary>The body, or null when it is larger than the server's MaxRequestBodyBytes.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext http)
    {
        var max = http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Configuration.RunboxOptions>>().Value.MaxRequestBodyBytes;
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > max)
            {
                return null;
            }
        }
        return buffer.ToArray();
    }

    private static async Task HandleAsync(HttpContext http, ClaimsPrincipal user, RpcMethods methods)
    {
        var caller = Caller.From(user);
        byte[]? answer;
        var body = await ReadBodyAsync(http);
        JsonDocument? document = null;
        try
        {
            document = body is null ? null : JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Configuration.RunboxOptions>>().Value.MaxJsonDepth });
        }
        catch (JsonException)
        {
        }
        if (document is null)
        {
            // Malformed JSON (or too deep, or too large) is the spec's parse error, answered as JSON-RPC, not problem details.
            answer = RpcResponse.Error(null, new RpcException(RpcException.ParseError, "Parse error",
                body is null ? "the body is larger than the server accepts" : "the body is not valid JSON"));
        }
        else
        {
            using (document)
            {
                answer = await RpcDispatcher.DispatchAsync(document.RootElement, methods, caller, http.RequestAborted);
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
