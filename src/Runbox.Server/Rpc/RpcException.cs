namespace Runbox.Server.Rpc;

/// <summary>A JSON-RPC error: the spec's codes, and Runbox's own in the server range -32000..-32099.</summary>
public sealed class RpcException(int code, string message, string? data = null) : Exception(message)
{
    public const int ParseError = -32700;
    public const int InvalidRequest = -32600;
    public const int MethodNotFound = -32601;
    public const int InvalidParams = -32602;
    public const int InternalError = -32603;

    /// <summary>No such session or runtime (or not visible to this key).</summary>
    public const int NotFound = -32001;

    /// <summary>The method needs an admin key.</summary>
    public const int Forbidden = -32002;

    /// <summary>The target's state forbids it now (a runtime installing, a session that already ended).</summary>
    public const int Conflict = -32003;

    /// <summary>The store cannot be reached for now (a database restart or failover): try again in a few seconds.</summary>
    public const int Unavailable = -32004;

    public int Code { get; } = code;

    /// <summary>What was wrong, for the error's <c>data</c> member.</summary>
    public string? Detail { get; } = data;

    public static RpcException Params(string detail) => new(InvalidParams, "Invalid params", detail);
}
