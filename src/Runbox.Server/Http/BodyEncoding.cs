using Microsoft.Net.Http.Headers;

namespace Runbox.Server.Http;

/// <summary>
/// What a JSON body must be sent as: uncompressed and UTF-8. The server decodes neither a Content-Encoding nor another
/// charset, so such a body would be read as if it were plain UTF-8 — a gzip body as "invalid JSON at 0x1F", a Latin-1
/// one as other text than was meant.
/// </summary>
public static class BodyEncoding
{
    /// <summary>The header and what is wrong with it, or null when the body can be read as it is.</summary>
    public static (string Header, string Rule)? Unsupported(HttpRequest request)
    {
        var encoding = request.Headers.ContentEncoding.ToString().Trim();
        if (encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return ("Content-Encoding", $"'{Clip(encoding)}' is not supported; send the body uncompressed.");
        }
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.Charset.HasValue
            && !type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !type.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return ("Content-Type", $"charset '{Clip(type.Charset.Value!)}' is not supported; JSON is read as UTF-8 (charset=utf-8).");
        }
        return null;
    }

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
