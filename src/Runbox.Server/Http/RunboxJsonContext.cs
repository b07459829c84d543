using System.Text.Json;
using System.Text.Json.Serialization;
using Runbox.Server.Auth;
using Runbox.Server.Compat;
using Runbox.Server.Health;
using Runbox.Server.Jobs;
using Runbox.Server.Streaming;

namespace Runbox.Server.Http;

/// <summary>Every shape the API reads or writes, serialized without reflection.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(JobSubmission))]
[JsonSerializable(typeof(JobResponse))]
[JsonSerializable(typeof(JobListResponse))]
[JsonSerializable(typeof(LogPageResponse))]
[JsonSerializable(typeof(LogLineResponse))]
[JsonSerializable(typeof(ArtifactListResponse))]
[JsonSerializable(typeof(BulkCancelRequest))]
[JsonSerializable(typeof(BulkCancelResponse))]
[JsonSerializable(typeof(CallerResponse))]
[JsonSerializable(typeof(StreamMessage))]
[JsonSerializable(typeof(KeyCreateRequest))]
[JsonSerializable(typeof(KeyCreatedResponse))]
[JsonSerializable(typeof(KeyListResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(ReadinessResponse))]
[JsonSerializable(typeof(ExecuteRequest))]
[JsonSerializable(typeof(TaskIdResponse))]
[JsonSerializable(typeof(StatusResponse))]
[JsonSerializable(typeof(TaskCreateRequest))]
[JsonSerializable(typeof(TaskResponse))]
[JsonSerializable(typeof(TaskListResponse))]
[JsonSerializable(typeof(TaskLogsResponse))]
[JsonSerializable(typeof(TaskMetricsResponse))]
[JsonSerializable(typeof(Runtimes.RuntimeCreateRequest))]
[JsonSerializable(typeof(Runtimes.RuntimeInstallRequest))]
[JsonSerializable(typeof(Runtimes.RuntimeResponse))]
[JsonSerializable(typeof(Runtimes.RuntimeListResponse))]
public sealed partial class RunboxJsonContext : JsonSerializerContext;

/// <summary>The one set of JSON settings: snake_case, the generated context first, bounded depth.</summary>
public static class RunboxJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    /// <summary>
    /// Applied to the framework's options too. The request depth cap is not set here but where bodies are read
    /// (<see cref="RequestBody"/>): these options also write the OpenAPI document, which nests deeper than any request may.
    /// </summary>
    public static void Apply(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.TypeInfoResolverChain.Insert(0, RunboxJsonContext.Default);
    }

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Apply(options);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
