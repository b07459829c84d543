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

    public static IEndpointRouteBuilder MapUi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext http, UiAssets assets) => Serve(http, assets, "index.html"))
            .WithName("Ui").WithSummary("The web UI.").ExcludeFromDescription().AllowAnonymous();
        // "/ui/" binds no path: a 404 like any other missing file, not a 400 for a missing parameter.
        app.MapGet("/ui/{**path}", (string? path, HttpContext http, UiAssets assets) => Serve(http, assets, path ?? ""))
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
        return TypedResults.Bytes(asset.Content, asset.ContentType);
    }
}
