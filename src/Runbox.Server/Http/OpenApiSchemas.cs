using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Runbox.Execution.Jobs;
using Runbox.Server.Auth;
using Runbox.Server.Compat;
using Runbox.Server.Health;
using Runbox.Server.Jobs;
using Runbox.Server.Runtimes;
using Runbox.Storage.Runtimes;

namespace Runbox.Server.Http;

/// <summary>
/// What the OpenAPI generator cannot see in a string property: the words it takes (<c>status</c>, <c>language</c>,
/// <c>limit_exceeded</c>, the adapters' states), taken from the enums that write them where there are some, so a new
/// kind appears here by itself; which request fields are required, which the handlers check rather than the types; and
/// which bodies refuse a field they do not have.
/// </summary>
internal static class OpenApiSchemas
{
    private static readonly string[] JobStatuses = [.. Enum.GetValues<JobStatus>().Select(s => s.ToWire())];

    private static readonly string[] Languages = [.. Enum.GetValues<JobLanguage>().Select(l => l.ToWire())];

    /// <summary>Every word <see cref="JobLanguageExtensions.TryParse"/> takes (in any case), the wire words first.</summary>
    private static readonly string[] LanguageWords = [.. Languages, "python3", "py", "sh", "shell", "nodejs", "javascript", "js"];

    private static readonly string[] TaskStates = ["pending", "running", "success", "error"];

    // The limit kinds, and null while the job has not ended. JsonNode has no null value: a null entry is how
    // Microsoft.OpenApi writes JSON null into the list.
    private static readonly string?[] LimitKinds = [.. Enum.GetValues<LimitKind>().Select(k => k.ToWire()), null];

    private static readonly Dictionary<(Type Type, string Property), string?[]> Words = new()
    {
        [(typeof(JobResponse), "status")] = JobStatuses,
        [(typeof(JobResponse), "language")] = Languages,
        [(typeof(JobResponse), "limit_exceeded")] = LimitKinds,
        [(typeof(LogPageResponse), "status")] = JobStatuses,
        [(typeof(LogLineResponse), "stream")] = [.. Enum.GetValues<LogStream>().Select(s => s == LogStream.Stdout ? "stdout" : "stderr")],
        [(typeof(JobSubmission), "language")] = [.. LanguageWords, null],
        [(typeof(ExecuteRequest), "language")] = [.. LanguageWords, null],
        [(typeof(TaskCreateRequest), "language")] = [.. LanguageWords, null],
        [(typeof(StatusResponse), "state")] = [.. TaskStates.Select(s => char.ToUpperInvariant(s[0]) + s[1..])],
        [(typeof(TaskResponse), "status")] = TaskStates,
        [(typeof(TaskResponse), "language")] = Languages,
        [(typeof(TaskLogsResponse), "status")] = TaskStates,
        [(typeof(TaskMetricsResponse), "status")] = TaskStates,
        [(typeof(HealthResponse), "status")] = ["ok"],
        [(typeof(ReadinessResponse), "status")] = ["ready", "not_ready"],
        [(typeof(RuntimeResponse), "state")] = [.. Enum.GetValues<RuntimeState>().Select(s => s.ToWire())],
    };

    /// <summary>Fields a request is refused without (400 naming the field); the types leave them nullable to name it.</summary>
    private static readonly Dictionary<Type, string[]> Required = new()
    {
        [typeof(ExecuteRequest)] = ["script"],
        [typeof(TaskCreateRequest)] = ["code"],
        [typeof(KeyCreateRequest)] = ["name"],
        [typeof(RuntimeCreateRequest)] = ["name"],
    };

    /// <summary>
    /// The jobs, keys and runtimes APIs refuse a field they do not know (a misspelt limit must not run a job without it);
    /// the compatibility adapters ignore them, as the services they stand in for did.
    /// </summary>
    private static readonly HashSet<Type> Closed =
    [
        typeof(JobSubmission), typeof(JobLimitsBody), typeof(BulkCancelRequest), typeof(KeyCreateRequest),
        typeof(RuntimeCreateRequest), typeof(RuntimeInstallRequest),
    ];

    /// <summary>The query parameters that take a word: <c>GET /api/v1/jobs?status=</c>.</summary>
    public static Task ApplyToParametersAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var parameter in operation.Parameters ?? [])
        {
            if (operation.OperationId == "ListJobs" && parameter is OpenApiParameter { In: ParameterLocation.Query, Name: "status", Schema: OpenApiSchema schema })
            {
                schema.Enum = [.. JobStatuses.Select(w => (JsonNode)JsonValue.Create(w))];
            }
        }
        return Task.CompletedTask;
    }

    public static Task ApplyAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        if (schema.Properties is not { } properties)
        {
            return Task.CompletedTask;
        }
        foreach (var ((owner, name), words) in Words)
        {
            if (owner == type && properties.TryGetValue(name, out var property) && property is OpenApiSchema text)
            {
                text.Enum = [.. words.Select(w => (JsonNode)JsonValue.Create(w)!)];
            }
        }
        if (Required.TryGetValue(type, out var required))
        {
            schema.Required = new HashSet<string>(required);
            foreach (var name in required)
            {
                if (properties.TryGetValue(name, out var property) && property is OpenApiSchema field && field.Type is { } kind)
                {
                    field.Type = kind & ~JsonSchemaType.Null;
                }
            }
        }
        if (Closed.Contains(type))
        {
            schema.AdditionalPropertiesAllowed = false;
        }
        if (type == typeof(TaskCreateRequest))
        {
            // JsonElement says nothing: the adapter takes a number or a numeric or size string ("0.5", "256m").
            foreach (var name in new[] { "cpu_limit", "memory_limit" })
            {
                properties[name] = new OpenApiSchema { Type = JsonSchemaType.Number | JsonSchemaType.String | JsonSchemaType.Null };
            }
        }
        if (type == typeof(JobSubmission))
        {
            // The script, or files with an entry point: one of the two.
            schema.AnyOf = [new OpenApiSchema { Required = new HashSet<string> { "script" } }, new OpenApiSchema { Required = new HashSet<string> { "files" } }];
        }
        if (type == typeof(BulkCancelRequest))
        {
            // The ids, or all: true.
            schema.AnyOf = [new OpenApiSchema { Required = new HashSet<string> { "ids" } }, new OpenApiSchema { Required = new HashSet<string> { "all" } }];
        }
        return Task.CompletedTask;
    }
}
