using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Runbox.Server.Http;

/// <summary>
/// The API key as the document's one security scheme (HTTP bearer), required by every operation but the anonymous ones
/// (<c>/healthz</c>, <c>/readyz</c>, the document itself), so a generated client sends <c>Authorization: Bearer KEY</c>.
/// </summary>
internal static class OpenApiSecurity
{
    public const string SchemeName = "Bearer";

    public static Task AddSchemeAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key: the admin key printed at the first start (<data>/admin.key), or one made with POST /api/v1/keys.",
        };
        return Task.CompletedTask;
    }

    public static Task ApplyAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (!context.Description.ActionDescriptor.EndpointMetadata.OfType<IAllowAnonymous>().Any())
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, context.Document)] = [] }];
        }
        return Task.CompletedTask;
    }
}
