using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Runbox.Server.Auth;
using Runbox.Server.Compat;
using Runbox.Server.Jobs;
using Runbox.Server.Runtimes;

namespace Runbox.Server.Http;

/// <summary>
/// The serializer reads a number given as a string too (<c>"memory_mb": "256"</c>), so the generator types every number
/// <c>integer | string</c> with a pattern. That is true of request bodies, which keep it; but every number the server
/// writes is a JSON number, and a query value is text read as a number: a client generated from the union gets a value
/// it cannot count with. Numbers the server only writes, and query and path parameters, are numbers alone.
/// </summary>
internal static class OpenApiNumbers
{
    /// <summary>The shapes read from request bodies (<see cref="JobLimitsBody"/> is also written, in a job's <c>limits</c>).</summary>
    private static readonly HashSet<Type> Read =
    [
        typeof(JobSubmission), typeof(JobLimitsBody), typeof(BulkCancelRequest), typeof(KeyCreateRequest), typeof(ExecuteRequest),
        typeof(TaskCreateRequest), typeof(RuntimeCreateRequest), typeof(RuntimeInstallRequest),
    ];

    public static Task ApplyAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        // A body given with Accepts<T> is a parameter too: only query and path values are text read as numbers.
        var written = context.ParameterDescription?.Source is { } source && (source == BindingSource.Query || source == BindingSource.Path)
            || context.JsonPropertyInfo?.DeclaringType is { } declaring && !Read.Contains(declaring);
        if (written && schema.Type is { } type && type.HasFlag(JsonSchemaType.String)
            && (type.HasFlag(JsonSchemaType.Integer) || type.HasFlag(JsonSchemaType.Number)))
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }
        return Task.CompletedTask;
    }
}
