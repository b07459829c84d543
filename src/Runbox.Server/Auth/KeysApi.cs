using Microsoft.AspNetCore.Http.HttpResults;
using Runbox.Server.Http;
using Runbox.Storage;
using Runbox.Storage.Keys;

namespace Runbox.Server.Auth;

/// <summary><c>/api/v1/keys</c>: admins create, list and revoke API keys.</summary>
public static class KeysApi
{
    public const string AdminPolicy = "admin";

    public static IEndpointRouteBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/keys").WithTags("Keys").RequireAuthorization(AdminPolicy);

        group.MapPost("/", CreateAsync)
            .WithName("CreateKey")
            .WithSummary("Create an API key; the secret is shown only in this answer.")
            .Accepts<KeyCreateRequest>("application/json");
        group.MapGet("/", ListAsync).WithName("ListKeys").WithSummary("List API keys (never their secrets).");
        group.MapDelete("/{id}", RevokeAsync).WithName("RevokeKey").WithSummary("Revoke an API key.");
        return app;
    }

    private static async Task<Results<Created<KeyCreatedResponse>, ProblemHttpResult>> CreateAsync(
        HttpContext http, IJobStore store, TimeProvider time)
    {
        var read = await RequestBody.ReadJsonAsync(http, RunboxJsonContext.Default.KeyCreateRequest);
        if (read.Problem is { } problem)
        {
            return problem;
        }
        var name = read.Value!.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 100 || name.Any(char.IsControl))
        {
            return Problems.BadRequest("name", "is required: 1-100 characters without control characters.");
        }
        var secret = ApiKeySecrets.NewSecret();
        var record = new ApiKeyRecord
        {
            Id = ApiKeySecrets.NewId(),
            Name = name,
            Hash = ApiKeySecrets.Hash(secret),
            IsAdmin = read.Value.Admin ?? false,
            CreatedAt = time.GetUtcNow(),
        };
        await store.InsertKeyAsync(record, http.RequestAborted);
        return TypedResults.Created($"/api/v1/keys/{record.Id}", new KeyCreatedResponse(record.Id, record.Name, record.IsAdmin, record.CreatedAt, secret));
    }

    private static async Task<Ok<KeyListResponse>> ListAsync(IJobStore store, CancellationToken cancellationToken)
    {
        var keys = await store.ListKeysAsync(cancellationToken);
        return TypedResults.Ok(new KeyListResponse(keys.Select(k => new KeyResponse(k.Id, k.Name, k.IsAdmin, k.CreatedAt, k.RevokedAt)).ToList()));
    }

    /// <summary>
    /// By id only: a name is a label, and two live keys may share one (a key being rotated and its successor). Given a
    /// name, the 404 names the ids of the live keys that have it, so the caller can pick the one meant.
    /// </summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(string id, IJobStore store, CancellationToken cancellationToken)
    {
        if (await store.RevokeKeyAsync(id, cancellationToken))
        {
            return TypedResults.NoContent();
        }
        var named = (await store.ListKeysAsync(cancellationToken)).Where(k => k.Name == id && k.RevokedAt is null).Select(k => k.Id).ToList();
        return named.Count == 0
            ? Problems.NotFound("key", id)
            : TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "Not found",
                detail: $"There is no key with id '{id}'; a key is revoked by its id, not its name. Live keys named '{id}': {string.Join(", ", named)}.");
    }
}
