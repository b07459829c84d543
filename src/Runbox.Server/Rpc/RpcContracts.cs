using System.Text.Json;
using System.Text.Json.Serialization;
using Runbox.Server.Jobs;

namespace Runbox.Server.Rpc;

public sealed record RpcHealth(string Status, string Service, string Version);

public sealed record RpcSessionStarted(string SessionId);

public sealed record RpcSessionStopped(string SessionId, string Status);

public sealed record RpcDeleted(bool Deleted);

public sealed record RpcSessionList(IReadOnlyList<JobResponse> Sessions, string? NextCursor);

public sealed record RpcSessionLogs(IReadOnlyList<LogLineResponse> Lines, long NextSeq, bool Done);

public sealed record RpcDiscovery(string Service, string Version, string Protocol, string Rpc, string Sse, IReadOnlyList<string> Methods);

/// <summary>The JSON-RPC method results of this folder, snake_case like the rest of the API.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(RpcHealth))]
[JsonSerializable(typeof(RpcSessionStarted))]
[JsonSerializable(typeof(RpcSessionStopped))]
[JsonSerializable(typeof(RpcDeleted))]
[JsonSerializable(typeof(RpcSessionList))]
[JsonSerializable(typeof(RpcSessionLogs))]
[JsonSerializable(typeof(RpcDiscovery))]
public sealed partial class RpcJsonContext : JsonSerializerContext;
