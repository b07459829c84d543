using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Runbox.Execution.Jobs;
using Runbox.Server.Jobs;

namespace Runbox.Server.Http;

/// <summary>
/// Values the OpenAPI generator cannot see in a string property: <c>limit_exceeded</c> lists every limit kind (from
/// <see cref="LimitKind"/>, so a new kind appears here by itself), and null while the job has not ended.
/// </summary>
internal static class OpenApiEnums
{
    public static Task ApplyAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonTypeInfo.Type == typeof(JobResponse)
            && schema.Properties?.TryGetValue("limit_exceeded", out var property) == true && property is OpenApiSchema limit)
        {
            // JsonNode has no null value: a null entry is how Microsoft.OpenApi writes JSON null into the list.
            limit.Enum = [.. Enum.GetValues<LimitKind>().Select(kind => (JsonNode)JsonValue.Create(kind.ToWire())), null!];
        }
        return Task.CompletedTask;
    }
}
