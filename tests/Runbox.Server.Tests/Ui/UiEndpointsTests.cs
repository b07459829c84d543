using System.Net;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Ui;

/// <summary>The UI's files over plain HTTP: served without a key, with the CSP, from the assembly.</summary>
public sealed class UiEndpointsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Root_ServesThePageWithAStrictCsp_WithoutAKey()
    {
        await using var server = await RunningServer.StartAsync(output);
        using var anonymous = server.Client(null);

        var page = await anonymous.GetAsync("/");
        var script = await anonymous.GetAsync("/ui/js/app.js");
        var editor = await anonymous.GetAsync("/ui/vendor/codemirror/codemirror.js");
        var missing = await anonymous.GetAsync("/ui/js/nope.js");
        var folder = await anonymous.GetAsync("/ui/");
        var api = await anonymous.GetAsync("/api/v1/jobs");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("<script type=\"module\" src=\"/ui/js/app.js\">", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", csp, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.OK, editor.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, folder.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact]
    public async Task UiAsset_AnswersNotModified_WhenTheETagMatches()
    {
        await using var server = await RunningServer.StartAsync(output);
        using var anonymous = server.Client(null);
        var first = await anonymous.GetAsync("/ui/app.css");

        using var again = new HttpRequestMessage(HttpMethod.Get, "/ui/app.css");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        var second = await anonymous.SendAsync(again);

        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
    }

    [Fact]
    public async Task UiFiles_AnswerHeadLikeGetWithoutABody_WithoutAKey()
    {
        await using var server = await RunningServer.StartAsync(output);
        using var anonymous = server.Client(null);

        foreach (var path in new[] { "/", "/ui/js/app.js", "/ui/app.css", "/ui/favicon.svg" })
        {
            var get = await anonymous.GetAsync(path);
            using var request = new HttpRequestMessage(HttpMethod.Head, path);
            var head = await anonymous.SendAsync(request);

            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.True(head.StatusCode == HttpStatusCode.OK, $"HEAD {path}: {(int)head.StatusCode}");
            Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
            Assert.Equal((await get.Content.ReadAsByteArrayAsync()).Length, head.Content.Headers.ContentLength);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
            Assert.Equal(get.Headers.ETag, head.Headers.ETag);
            Assert.Equal(get.Headers.GetValues("Content-Security-Policy"), head.Headers.GetValues("Content-Security-Policy"));
        }
    }

    [Fact]
    public async Task UiFile_AnswersHeadWithNotFound_WhenTheFileIsMissing_AndTheApiStillNeedsAKey()
    {
        await using var server = await RunningServer.StartAsync(output);
        using var anonymous = server.Client(null);

        using var missing = new HttpRequestMessage(HttpMethod.Head, "/ui/js/nope.js");
        using var api = new HttpRequestMessage(HttpMethod.Head, "/api/v1/jobs");

        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.SendAsync(missing)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(api)).StatusCode);
    }
}
