using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Runbox.Storage;

namespace Runbox.Server.Auth;

/// <summary>Checks <c>Authorization: Bearer KEY</c> against the hashed keys in the store.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IJobStore store)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    /// <summary>The key id of requests on the JSON-RPC Unix socket, whose file permission authenticated them.</summary>
    public const string SocketKeyId = "unix-socket";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Rpc.RpcSocket.IsSocketRequest(Context))
        {
            var socketClaims = new[] { new Claim(ClaimTypes.NameIdentifier, SocketKeyId), new Claim(ClaimTypes.Name, SocketKeyId), new Claim(ClaimTypes.Role, Caller.AdminRole) };
            return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(socketClaims, SchemeName)), SchemeName));
        }
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail("The Authorization header must be 'Bearer KEY'.");
        }
        var secret = header["Bearer ".Length..].Trim();
        if (secret.Length is 0 or > 256)
        {
            return AuthenticateResult.Fail("The API key is malformed.");
        }
        var key = await store.FindKeyAsync(ApiKeySecrets.Hash(secret), Context.RequestAborted);
        if (key is null || key.RevokedAt is not null)
        {
            return AuthenticateResult.Fail("The API key is unknown or revoked.");
        }
        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, key.Id), new(ClaimTypes.Name, key.Name) };
        if (key.IsAdmin)
        {
            claims.Add(new Claim(ClaimTypes.Role, Caller.AdminRole));
        }
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        var result = await HandleAuthenticateOnceSafeAsync();
        var detail = result.Failure?.Message ?? "Every request needs 'Authorization: Bearer KEY'.";
        await TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: detail)
            .ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        await TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: "This needs an admin key.")
            .ExecuteAsync(Context);
    }
}
