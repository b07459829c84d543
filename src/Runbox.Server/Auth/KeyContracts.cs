namespace Runbox.Server.Auth;

public sealed record KeyCreateRequest
{
    public string? Name { get; init; }

    public bool? Admin { get; init; }
}

/// <summary>The only answer that carries the secret; the server keeps just its hash.</summary>
public sealed record KeyCreatedResponse(string Id, string Name, bool Admin, DateTimeOffset CreatedAt, string Key);

public sealed record KeyResponse(string Id, string Name, bool Admin, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

public sealed record KeyListResponse(List<KeyResponse> Keys);
