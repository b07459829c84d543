namespace Runbox.Server.Rpc;

/// <summary>Where a call's server faults are logged, and the id that finds them there (as REST's <c>traceId</c>).</summary>
public sealed record RpcCallContext(ILogger Logger, string TraceId);
