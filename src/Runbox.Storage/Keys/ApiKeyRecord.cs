namespace Runbox.Storage.Keys;

/// <summary>An API key. Only the SHA-256 of the secret is stored.</summary>
public sealed record ApiKeyRecord
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    /// <summary>Lowercase hex SHA-256 of the secret.</summary>
    public required string Hash { get; init; }

    public bool IsAdmin { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }
}
