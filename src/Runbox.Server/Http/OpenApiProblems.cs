using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.OpenApi;
using Runbox.Server.Auth;

namespace Runbox.Server.Http;

/// <summary>
/// The errors each operation can answer, as problem details, derived from what the endpoint is rather than listed route
/// by route, so a new endpoint declares them by itself: a key (401, and 503 when the store that holds keys is down), an
/// admin key (403), a body (413, 415), a path naming something (404), the rate limit (429), and 400 everywhere (a refused
/// body or query value, or any query value given twice).
/// An endpoint's own further answers (409) are on its route as <c>ProducesProblem</c>.
/// </summary>
internal static class OpenApiProblems
{
    public const string SchemaName = "ProblemDetails";

    private const string ProblemJson = "application/problem+json";

    /// <summary>RFC 9457 problem details as every error of the API writes them.</summary>
    public static Task AddSchemaAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[SchemaName] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "RFC 9457 problem details; detail names the field and the rule.",
            Required = new HashSet<string> { "title", "status" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                ["errors"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Description = "For a refused request: each field (by its path, such as limits.timeout_seconds) with its rules.",
                    AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
                },
                ["trace_id"] = new OpenApiSchema { Type = JsonSchemaType.String },
            },
        };
        return Task.CompletedTask;
    }

    public static Task ApplyAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var anonymous = metadata.OfType<IAllowAnonymous>().Any();
        var admin = metadata.OfType<IAuthorizeData>().Any(a => a.Policy == KeysApi.AdminPolicy);
        var parameters = context.Description.ParameterDescriptions;
        var body = operation.RequestBody is not null;
        operation.Responses ??= new OpenApiResponses();

        // Every operation: a query value given twice is refused before any endpoint runs (RepeatedQueryValues).
        Add(400, body || parameters.Any(p => p.Source == BindingSource.Query)
            ? "The request is refused: detail and errors name the field and the rule."
            : "A query value is given more than once.");
        if (!anonymous)
        {
            Add(401, "No valid API key: send Authorization: Bearer KEY.");
        }
        if (admin)
        {
            Add(403, "The key is not an admin key.");
        }
        if (parameters.Any(p => p.Source == BindingSource.Path))
        {
            Add(404, "Nothing by that name visible to this key (another key's job answers 404, as a missing one does).");
        }
        if (body)
        {
            Add(413, "The body is larger than Runbox:MaxRequestBodyBytes.");
            Add(415, "The body is not plain UTF-8 JSON sent as application/json.");
        }
        if (!metadata.OfType<DisableRateLimitingAttribute>().Any())
        {
            Add(429, "Past the key's rate limit (or its live streams): nothing was done; retry after Retry-After seconds.", retryAfter: true);
        }
        if (!anonymous)
        {
            Add(503, "The job store cannot be reached right now; retry after Retry-After seconds.", retryAfter: true);
        }
        return Task.CompletedTask;

        void Add(int status, string description, bool retryAfter = false)
        {
            var key = status.ToString(CultureInfo.InvariantCulture);
            if (operation.Responses.TryGetValue(key, out var declared) && declared.Content?.ContainsKey(ProblemJson) == true)
            {
                return;
            }
            operation.Responses[key] = new OpenApiResponse
            {
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    [ProblemJson] = new() { Schema = new OpenApiSchemaReference(SchemaName, context.Document) },
                },
                Headers = retryAfter
                    ? new Dictionary<string, IOpenApiHeader>
                    {
                        ["Retry-After"] = new OpenApiHeader { Description = "Seconds to wait before trying again.", Schema = new OpenApiSchema { Type = JsonSchemaType.Integer } },
                    }
                    : null,
            };
        }
    }
}
