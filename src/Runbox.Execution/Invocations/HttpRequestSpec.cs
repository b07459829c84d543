using System.Net.Http.Headers;
using System.Text;

namespace Runbox.Execution.Invocations;

/// <summary>
/// The request the HTTP runners send, read from invocation metadata: <c>http.url</c>, <c>http.method</c>,
/// <c>http.body</c> (else the input payload file) and one <c>http.header.NAME</c> per header.
/// </summary>
internal sealed record HttpRequestSpec(Uri Url, HttpMethod Method, byte[]? Body, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public const string UrlKey = "http.url";
    public const string MethodKey = "http.method";
    public const string BodyKey = "http.body";
    public const string HeaderPrefix = "http.header.";

    /// <summary>The spec, or why the metadata does not make one.</summary>
    public static async Task<(HttpRequestSpec? Spec, string? Error)> ReadAsync(
        RuntimeInvocation invocation, string defaultMethod, CancellationToken cancellationToken)
    {
        var metadata = invocation.Metadata;
        if (ParseUrl(metadata.GetValueOrDefault(UrlKey)) is not { } url)
        {
            return (null, $"metadata '{UrlKey}' must be an absolute http or https URL, not '{metadata.GetValueOrDefault(UrlKey)}'.");
        }
        var methodText = metadata.GetValueOrDefault(MethodKey) is { Length: > 0 } given ? given : defaultMethod;
        if (!methodText.All(char.IsAsciiLetter))
        {
            return (null, $"metadata '{MethodKey}' is not an HTTP method: '{methodText}'.");
        }
        var body = metadata.GetValueOrDefault(BodyKey) is { } text
            ? Encoding.UTF8.GetBytes(text)
            : invocation.InputPayloadPath is { } path ? await File.ReadAllBytesAsync(path, cancellationToken) : null;
        var headers = metadata
            .Where(entry => entry.Key.StartsWith(HeaderPrefix, StringComparison.OrdinalIgnoreCase) && entry.Key.Length > HeaderPrefix.Length)
            .Select(entry => KeyValuePair.Create(entry.Key[HeaderPrefix.Length..], entry.Value))
            .ToArray();
        return (new HttpRequestSpec(url, new HttpMethod(methodText.ToUpperInvariant()), body, headers), null);
    }

    public static Uri? ParseUrl(string? text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
            ? url
            : null;

    /// <summary>A request for <paramref name="url"/> with these headers; the body only when <paramref name="withBody"/>.</summary>
    public HttpRequestMessage Build(Uri url, HttpMethod method, bool withBody)
    {
        var request = new HttpRequestMessage(method, url);
        if (withBody && Body is not null)
        {
            request.Content = new ByteArrayContent(Body);
            // JSON is what these run APIs take; a caller with another body says so with http.header.Content-Type.
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        foreach (var (name, value) in Headers)
        {
            // Content headers (Content-Type, ...) live on the content; the rest on the request.
            if (!request.Headers.TryAddWithoutValidation(name, value) && request.Content is not null)
            {
                request.Content.Headers.Remove(name);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }
        return request;
    }

    public HttpRequestMessage Build() => Build(Url, Method, withBody: true);
}
