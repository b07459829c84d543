using System.Text.Json;
using Runbox.Server.Auth;
using Runbox.Server.Http;

namespace Runbox.Server.Rpc;

/// <summary>
/// The JSON-RPC 2.0 rules: a request object or a batch array; <c>jsonrpc</c> must be "2.0", <c>method</c> a string,
/// <c>id</c> a string, number or null; a request without <c>id</c> is a notification and gets no response. An empty
/// batch is one invalid-request error; a batch of only notifications answers nothing.
/// </summary>
public static class RpcDispatcher
{
    public const int MaxBatch = 100;

    /// <summary>The response body, or null when there is nothing to answer.</summary>
    public static async Task<byte[]?> DispatchAsync(JsonElement root, RpcMethods methods, Caller caller, RpcCallContext context, CancellationToken cancellationToken)
    {
        if (root.ValueKind != JsonValueKind.Array)
        {
            var single = await CallAsync(root, methods, caller, context, cancellationToken);
            return single?.ToArray();
        }
        if (root.GetArrayLength() == 0)
        {
            return RpcResponse.Error(null, new RpcException(RpcException.InvalidRequest, "Invalid Request", "an empty batch"));
        }
        if (root.GetArrayLength() > MaxBatch)
        {
            return RpcResponse.Error(null, new RpcException(RpcException.InvalidRequest, "Invalid Request", $"a batch holds at most {MaxBatch} calls"));
        }
        var answers = new List<RpcResponse.Raw>();
        foreach (var call in root.EnumerateArray())
        {
            if (await CallAsync(call, methods, caller, context, cancellationToken) is { } answer)
            {
                answers.Add(answer);
            }
        }
        return answers.Count == 0 ? null : RpcResponse.Batch(answers);
    }

    private static async Task<RpcResponse.Raw?> CallAsync(JsonElement call, RpcMethods methods, Caller caller, RpcCallContext context, CancellationToken cancellationToken)
    {
        if (call.ValueKind != JsonValueKind.Object)
        {
            return RpcResponse.ErrorRaw(null, Invalid("a request must be a JSON object"));
        }
        var hasId = call.TryGetProperty("id", out var id);
        if (hasId && id.ValueKind is not (JsonValueKind.String or JsonValueKind.Number or JsonValueKind.Null))
        {
            return RpcResponse.ErrorRaw(null, Invalid("id must be a string, a number or null"));
        }
        JsonElement? answerId = hasId ? id : null;
        if (!call.TryGetProperty("jsonrpc", out var version) || version.ValueKind != JsonValueKind.String || version.GetString() != "2.0")
        {
            return RpcResponse.ErrorRaw(answerId, Invalid("jsonrpc must be \"2.0\""));
        }
        if (!call.TryGetProperty("method", out var method) || method.ValueKind != JsonValueKind.String)
        {
            return RpcResponse.ErrorRaw(answerId, Invalid("method must be a string"));
        }
        JsonElement? parameters = null;
        // "params": null is no parameters, as if the member were left out: clients that always send the member
        // (rpc-websockets, paritytech's Rust client) send null for a call without arguments, and geth accepts it.
        if (call.TryGetProperty("params", out var given) && given.ValueKind != JsonValueKind.Null)
        {
            if (given.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array))
            {
                return RpcResponse.ErrorRaw(answerId, Invalid("params must be an object, an array or null"));
            }
            parameters = given;
        }
        try
        {
            var result = await methods.InvokeAsync(method.GetString()!, parameters, caller, cancellationToken);
            return hasId ? RpcResponse.Result(id, result) : null;
        }
        catch (RpcException e)
        {
            return hasId ? RpcResponse.ErrorRaw(id, e) : null;
        }
        catch (Exception e) when (StoreFault.Classify(e) is { } fault)
        {
            // The same faults REST answers with problem details (StoreFaultHandler), in JSON-RPC's shape.
            fault.Log(context.Logger, "JSON-RPC", method.GetString()!, e);
            return hasId ? RpcResponse.ErrorRaw(id, new RpcException(fault.RpcCode, fault.RpcMessage, fault.Detail)) : null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A fault of the server, not of the call: its message may name internals (paths, SQL), so it goes to the
            // log, and the caller gets the trace id to find it by, as REST's problem details do.
            ServerLog.RpcFault(context.Logger, method.GetString()!, context.TraceId, e);
            return hasId
                ? RpcResponse.ErrorRaw(id, new RpcException(RpcException.InternalError, "Internal error", $"the server failed; its log has the details under trace id {context.TraceId}"))
                : null;
        }
    }

    private static RpcException Invalid(string detail) => new(RpcException.InvalidRequest, "Invalid Request", detail);
}
