using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Runbox.Server.Tests.Ui;

/// <summary>What every page shares: the skip link, focus, dialogs, toasts, and a narrow window.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ShellTests(BrowserFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task SkipLink_FocusesTheContentAndKeepsThePage_WhenFollowed()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        await ui.GotoAsync("#/workers");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Workers" })).ToBeVisibleAsync();

        await page.Locator("a.skip").FocusAsync();
        await page.Keyboard.PressAsync("Enter");

        await Expect(page.Locator("main")).ToBeFocusedAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#/workers$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Workers" })).ToBeVisibleAsync();

        // From the content, the navigation is a few Shift+Tabs back.
        var reached = false;
        for (var i = 0; i < 4 && !reached; i++)
        {
            await page.Keyboard.PressAsync("Shift+Tab");
            reached = await page.EvaluateAsync<bool>("() => document.activeElement?.closest('#nav a') !== null");
        }
        Assert.True(reached, "Shift+Tab from the content should reach the navigation");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task ConfirmDialog_Closes_WhenTheRouteChanges()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        var marker = $"dialog{Guid.NewGuid():N}"[..16];
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = $"# {marker}" }, wait: true);
        await ui.GotoAsync("#/jobs");
        await page.GetByLabel("Search").FillAsync(marker);
        await Expect(page.Locator("#jobs-body tr[data-job]")).ToHaveCountAsync(1);
        await page.GetByLabel("Select all jobs on this page").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete selected" }).ClickAsync();
        await Expect(page.Locator("dialog")).ToBeVisibleAsync();

        // Alt+Left or a link outside the dialog changes the hash while the modal is open.
        await page.EvaluateAsync("() => { location.hash = '#/run'; }");

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Run a script" })).ToBeVisibleAsync();
        await Expect(page.Locator("dialog")).ToHaveCountAsync(0);
        await page.GetByLabel("Language").ClickAsync(new() { Timeout = 10_000 });
        // Leaving is not a yes: the job is still there.
        Assert.Equal("succeeded", (await fixture.Server.Admin.GetJobAsync(job.Id)).Status);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task Toast_KeepsALongErrorInsideTheWindowUntilDismissed()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        await page.SetViewportSizeAsync(400, 800);
        await page.Clock.InstallAsync();
        await ui.GotoAsync("#/jobs");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Jobs" })).ToBeVisibleAsync();

        // What a 409 on a failed runtime carries: a pip log with long unbroken paths, about 2 KB.
        var error = string.Join('\n', Enumerable.Range(0, 30).Select(i =>
            $"  File \"/var/lib/runbox/runtimes/broken/lib/python3.13/site-packages/{new string('x', 40)}/module{i}.py\", line {i}"));
        await page.EvaluateAsync("async text => (await import('/ui/js/dom.js')).toast(text)", error);

        var toast = page.Locator("#toast");
        await Expect(toast).ToBeVisibleAsync();
        var box = (await toast.BoundingBoxAsync())!;
        Assert.True(box.X >= 0 && box.X + box.Width <= 400, $"toast spans x {box.X}..{box.X + box.Width} in a 400 px window");
        Assert.True(box.Y >= 0 && box.Y + box.Height <= 800, $"toast spans y {box.Y}..{box.Y + box.Height} in an 800 px window");
        Assert.True(await toast.EvaluateAsync<bool>("t => t.scrollWidth <= t.clientWidth"), "the toast's text spills sideways");
        Assert.Contains('\n', await page.Locator("#toast .toast-text").InnerTextAsync());

        await page.Clock.FastForwardAsync("00:30");
        await Expect(toast).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Dismiss" }).ClickAsync();
        await Expect(toast).ToBeHiddenAsync();

        // A confirmation still fades by itself.
        await page.EvaluateAsync("async () => (await import('/ui/js/dom.js')).toast('Done.', true)");
        await Expect(toast).ToBeVisibleAsync();
        await page.Clock.FastForwardAsync("00:06");
        await Expect(toast).ToBeHiddenAsync();
        ui.AssertNoBrowserErrors();
    }

    /// <summary>Counts the times a live region's content was written again with the text it already had.</summary>
    private const string WatchRewrites = """
        id => {
          const el = document.getElementById(id);
          let last = el.textContent;
          window.rewrites = window.rewrites || {};
          window.rewrites[id] = 0;
          new MutationObserver(() => {
            if (el.textContent === last) window.rewrites[id]++;
            last = el.textContent;
          }).observe(el, { childList: true, subtree: true, characterData: true });
        }
        """;

    [SkippableFact]
    public async Task LiveRegions_AreNotRewritten_WhenARefreshBringsTheSameText()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('on', flush=True)\ntime.sleep(8)" });

        // A screen reader announces a live region on each change: the status, polled every second, said "running" again each time.
        await ui.GotoAsync($"#/jobs/{job.Id}");
        await Expect(page.Locator("#job-status .badge")).ToHaveAttributeAsync("data-status", "running");
        await page.EvaluateAsync(WatchRewrites, "job-status");
        await WaitForAnswersAsync($"/api/v1/jobs/{job.Id}", 3);
        Assert.Equal(0, await page.EvaluateAsync<int>("() => window.rewrites['job-status']"));

        // The jobs list and the workers summary refresh every 2 s.
        await ui.GotoAsync("#/jobs");
        await page.Locator($"tr[data-job='{job.Id}']").GetByRole(AriaRole.Checkbox).CheckAsync();
        await Expect(page.Locator("#selected-count")).ToHaveTextAsync("1 selected");
        await page.EvaluateAsync(WatchRewrites, "selected-count");
        await WaitForAnswersAsync("/api/v1/jobs?", 2);
        Assert.Equal(0, await page.EvaluateAsync<int>("() => window.rewrites['selected-count']"));

        await ui.GotoAsync("#/workers");
        await Expect(page.Locator("#workers-summary")).ToContainTextAsync("alive");
        await page.EvaluateAsync(WatchRewrites, "workers-summary");
        await WaitForAnswersAsync("/api/v1/workers", 2);
        Assert.Equal(0, await page.EvaluateAsync<int>("() => window.rewrites['workers-summary']"));
        ui.AssertNoBrowserErrors();

        async Task WaitForAnswersAsync(string path, int count)
        {
            for (var i = 0; i < count; i++)
            {
                await page.WaitForResponseAsync(r => r.Url.Contains(path, StringComparison.Ordinal));
            }
            // The answer is read and shown in the next task.
            await page.WaitForTimeoutAsync(300);
        }
    }

    [SkippableFact]
    public async Task JobPage_SaysNotFound_WhenTheAddressHoldsAMalformedEscape()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;

        // A link cut short mid-escape: decoding it threw, and the page stayed blank.
        await ui.GotoAsync("#/jobs/%E0%A4%A");

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Job not found" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Main)).ToContainTextAsync("No job %E0%A4%A is visible to this key.");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task Pages_FitTheWindow_WhenItIsFourHundredPixelsWide()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('narrow')" }, wait: true);
        await page.SetViewportSizeAsync(400, 800);

        await ui.GotoAsync($"#/jobs/{job.Id}");
        await Expect(page.Locator("#output")).ToContainTextAsync("narrow");
        await ui.ScreenshotAsync("job-narrow");
        await AssertNoSidewaysScrollAsync("job page");

        await ui.GotoAsync("#/jobs");
        await Expect(page.Locator($"tr[data-job='{job.Id}']")).ToBeVisibleAsync();
        await ui.ScreenshotAsync("jobs-narrow");
        await AssertNoSidewaysScrollAsync("jobs page");
        await AssertFitsAsync("#jobs-table");
        await Expect(page.GetByRole(AriaRole.Columnheader, new() { Name = "Wall" })).ToBeInViewportAsync(new() { Ratio = 1 });
        await Expect(page.GetByRole(AriaRole.Columnheader, new() { Name = "Runtime" })).ToBeInViewportAsync(new() { Ratio = 1 });

        await ui.GotoAsync("#/runtimes");
        await Expect(page.Locator("tr[data-runtime=default]")).ToBeVisibleAsync();
        await ui.ScreenshotAsync("runtimes-narrow");
        await AssertNoSidewaysScrollAsync("runtimes page");
        await AssertFitsAsync("#runtimes-table");

        // Seven columns: the last heartbeat was cut off at the table's edge.
        await ui.GotoAsync("#/workers");
        await Expect(page.Locator("#workers-body tr[data-worker]").First).ToBeVisibleAsync();
        await ui.ScreenshotAsync("workers-narrow");
        await AssertNoSidewaysScrollAsync("workers page");
        await AssertFitsAsync("#workers-table");
        await Expect(page.Locator("#workers-body [data-last-seen]").First).ToBeInViewportAsync(new() { Ratio = 1 });
        ui.AssertNoBrowserErrors();

        async Task AssertNoSidewaysScrollAsync(string what)
        {
            var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
            Assert.True(widths[0] <= widths[1], $"the {what} is {widths[0]} px wide in a {widths[1]} px window");
        }

        async Task AssertFitsAsync(string table)
        {
            var widths = await page.Locator(table).EvaluateAsync<int[]>("t => [t.scrollWidth, t.parentElement.clientWidth]");
            Assert.True(widths[0] <= widths[1], $"{table} is {widths[0]} px wide in {widths[1]} px");
        }
    }
}
