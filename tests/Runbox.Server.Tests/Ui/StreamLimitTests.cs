using System.Net;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Runbox.Server.Tests.Ui;

/// <summary>A job page whose key holds all its live streams already: it says so, waits as told, and streams once it may.</summary>
[Collection(BrowserCollection.Name)]
public sealed class StreamLimitTests(BrowserFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task JobPage_SaysTheStreamLimitIsReached_WaitsRetryAfter_ThenStreams()
    {
        fixture.RequireBrowser();
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:RateLimit:StreamsPerKey"] = "1" });
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('first', flush=True)\ntime.sleep(4)\nprint('second', flush=True)\ntime.sleep(60)" });
        // The key's one stream, held here, as another tab or client of the same key would.
        using var held = new CancellationTokenSource();
        var other = await server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/events", HttpCompletionOption.ResponseHeadersRead, held.Token);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        await using var ui = await UiSession.OpenAsync(fixture, output, server.AdminKey, server.Address);
        var attempts = 0;
        ui.Page.Request += (_, request) =>
        {
            if (request.Url.EndsWith($"/api/v1/jobs/{job.Id}/events", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref attempts);
            }
        };

        await ui.GotoAsync($"#/jobs/{job.Id}");

        await Expect(ui.Page.Locator("#stream-state")).ToContainTextAsync("Too many live streams for this key");
        await Expect(ui.Page.Locator("#stream-state")).ToContainTextAsync("retrying in 5 s");
        await ui.ScreenshotAsync("job-stream-limit");
        // Retry-After says 5 s: the page waits that out rather than retrying at once and doubling from half a second.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(1, Volatile.Read(ref attempts));

        other.Dispose();
        await held.CancelAsync();
        await Expect(ui.Page.Locator("#stream-state")).ToHaveTextAsync("● live", new() { Timeout = 30_000 });
        await Expect(ui.Page.Locator("#output")).ToContainTextAsync("first");
        await Expect(ui.Page.Locator("#output")).ToContainTextAsync("second", new() { Timeout = 30_000 });
        ui.AssertNoBrowserErrors();
    }
}
