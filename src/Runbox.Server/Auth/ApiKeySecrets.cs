using System.Security.Cryptography;
using System.Text;

namespace Runbox.Server.Auth;

/// <summary>Makes API key secrets and the hashes the store keeps instead of them.</summary>
public static class ApiKeySecrets
{
    public const string Prefix = "rbx_";

    public static string NewSecret() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string NewId() => "key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>Lowercase hex SHA-256: a secret has 256 random bits, so a plain hash is enough (no stretching needed).</summary>
    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
