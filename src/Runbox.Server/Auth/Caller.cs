using System.Security.Claims;

namespace Runbox.Server.Auth;

/// <summary>Who is calling: the API key's id and whether it is an admin key.</summary>
public sealed record Caller(string KeyId, bool IsAdmin)
{
    public const string AdminRole = "admin";

    public static Caller From(ClaimsPrincipal user) => new(
        user.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("The request is not authenticated."),
        user.IsInRole(AdminRole));

    /// <summary>Whether this caller may see a job owned by <paramref name="owner"/>; others' jobs read as missing.</summary>
    public bool CanSee(string owner) => IsAdmin || owner == KeyId;
}
