using System.Security.Cryptography;
using System.Text;

namespace Runbox.Server.Webhooks;

/// <summary>
/// Signs a webhook body so the receiver can check it came from this server: the header
/// <c>X-Runbox-Signature: sha256=HEX</c> is HMAC-SHA256 over "<c>{timestamp}.{body}</c>" with the shared secret,
/// and <c>X-Runbox-Timestamp</c> (Unix seconds) lets the receiver refuse replays.
/// </summary>
public static class WebhookSigner
{
    public const string SignatureHeader = "X-Runbox-Signature";
    public const string TimestampHeader = "X-Runbox-Timestamp";
    public const string EventHeader = "X-Runbox-Event";
    public const string DeliveryHeader = "X-Runbox-Delivery";

    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    /// <summary>For receivers: whether the signature matches, compared in constant time.</summary>
    public static bool Verify(string secret, long timestamp, ReadOnlySpan<byte> body, string signature) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(secret, timestamp, body)), Encoding.ASCII.GetBytes(signature));
}
