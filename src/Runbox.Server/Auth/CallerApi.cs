using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Runbox.Server.Auth;

/// <summary>Which key is calling and whether it is an admin key: the UI's sign-in checks a key with it.</summary>
public sealed record CallerResponse(string KeyId, bool Admin);

/// <summary><c>GET /api/v1/me</c>.</summary>
public static class CallerApi
{
    public static IEndpointRouteBuilder MapCallerApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/me", (ClaimsPrincipal user) =>
            {
                var caller = Caller.From(user);
                return TypedResults.Ok(new CallerResponse(caller.KeyId, caller.IsAdmin));
            })
            .WithTags("Keys").WithName("GetCaller").WithSummary("The calling key's id and whether it is an admin key.")
            .RequireAuthorization();
        return app;
    }
}
