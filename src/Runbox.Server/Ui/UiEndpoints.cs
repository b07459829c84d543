using Microsoft.Net.Http.Headers;

namespace Runbox.Server.Ui;

/// <summary>
/// The web UI at <c>/</c> with its files under <c>/ui/</c>. These routes need no API key: the page asks for one and
/// sends it on each API call. Every answer carries a strict content security policy, since the UI shows output of
/// untrusted scripts and must never run it.
/// </summary>
public static class UiEndpoints
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>
    /// MapGet matches GET alone: a HEAD (curl -I, link checkers, uptime probes) found no endpoint and met the fallback
    /// policy's 401. HEAD answers as GET does, headers and all, without the body.
    /// </summary>
    private static readonly string[] ReadMethods = [HttpMethods.Get, HttpMethods.Head];

    public static IEndpointRouteBuilder MapUi(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/", ReadMethods, (HttpContext http, UiAssets assets) => Serve(http, assets, "index.html"))
            .WithName("Ui").WithSummary("The web UI.").ExcludeFromDescription().AllowAnonymous();
        // "/ui/" binds no path: a 404 like any other missing file, not a 400 for a missing parameter.
        app.MapMethods("/ui/{**path}", ReadMethods, (string? path, HttpContext http, UiAssets assets) => Serve(http, assets, path ?? ""))
            .WithName("UiAsset").ExcludeFromDescription().AllowAnonymous();
        return app;
    }

    private static IResult Serve(HttpContext http, UiAssets assets, string path)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        if (assets.Find(path) is not { } asset)
        {
            return TypedResults.NotFound();
        }
        // Revalidated on every load: a restarted server with a new build must never mix old and new modules.
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        if (http.Request.Headers.IfNoneMatch == asset.ETag)
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        if (HttpMethods.IsHead(http.Request.Method))
        {
            // The length GET would send; Kestrel would drop a body written to a HEAD, but there is no need to write one.
            http.Response.ContentType = asset.ContentType;
            http.Response.ContentLength = asset.Content.Length;
            return TypedResults.Empty;
        }
        return TypedResults.Bytes(asset.Content, asset.ContentType);
    }
}
