using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Runbox.Server.Tests.Ui;

/// <summary>Run, Job and Jobs pages in a real Chromium against the real server.</summary>
[Collection(BrowserCollection.Name)]
public sealed partial class JobPagesTests(BrowserFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task RunPage_ShowsOutputLive_WhenAJobIsSubmittedWithCtrlEnter()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, key: null);
        var page = ui.Page;
        await ui.GotoAsync("");
        await ui.ScreenshotAsync("signin");
        await page.GetByLabel("API key").FillAsync(fixture.Server.AdminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Run a script" })).ToBeVisibleAsync();
        await Expect(page.Locator(".CodeMirror")).ToBeVisibleAsync();
        await ui.ScreenshotAsync("run");

        // The pause between the lines lets the test see the first one while the job still runs.
        var script = string.Join('\n',
            "import os, sys, time",
            "print('\\x1b[32mfirst line\\x1b[0m', flush=True)",
            "print('a warning', file=sys.stderr, flush=True)",
            "time.sleep(10)",
            "print('second line', flush=True)");
        await page.EvaluateAsync("s => document.querySelector('.CodeMirror').CodeMirror.setValue(s)", script);
        // Escape leaves the editor for the next control (Tab indents inside it); Ctrl+Enter in the editor runs.
        await page.Locator(".CodeMirror textarea").FocusAsync();
        await page.Keyboard.PressAsync("Escape");
        await Expect(page.GetByLabel("Timeout (seconds)")).ToBeFocusedAsync();
        await page.Locator(".CodeMirror textarea").FocusAsync();
        await page.Keyboard.PressAsync("Control+Enter");

        // Polled, not a navigation event: the job page is a hash change. On failure the run button's text tells
        // whether the submission started ("Submitting…") and the output holds any toast (logged to the console).
        try
        {
            await Expect(page).ToHaveURLAsync(JobUrl());
        }
        catch (PlaywrightException e)
        {
            throw new Xunit.Sdk.XunitException($"no job page after Ctrl+Enter; the run button says '{await page.Locator("#run").TextContentAsync()}': {e.Message}");
        }
        var output1 = page.Locator("#output");
        await Expect(output1.Locator(".line.stdout", new() { HasText = "first line" })).ToBeVisibleAsync();
        await Expect(page.Locator("#job-status .badge")).ToHaveAttributeAsync("data-status", "running");
        await Expect(output1).Not.ToContainTextAsync("second line");
        await Expect(output1.Locator(".line.stderr", new() { HasText = "a warning" })).ToBeVisibleAsync();
        // ANSI green became a class, not raw escape characters.
        await Expect(output1.Locator(".fg-2", new() { HasText = "first line" })).ToBeVisibleAsync();
        await ui.ScreenshotAsync("job-running");

        await Expect(output1.Locator(".line.stdout", new() { HasText = "second line" })).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await Expect(page.Locator("#job-status .badge")).ToHaveAttributeAsync("data-status", "succeeded");
        await Expect(page.Locator("[data-fact=exit_code] dd")).ToHaveTextAsync("0");
        await Expect(page.Locator("[data-fact=limit] dd")).ToHaveTextAsync("none");
        await ui.ScreenshotAsync("job-succeeded");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_ReplaysOutputAndArtifacts_WhenTheJobAlreadyEnded()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "import sys\nprint('replayed')\nopen('report.txt', 'w').write('hi')\nsys.exit(3)",
        }, wait: true);

        await ui.GotoAsync($"#/jobs/{job.Id}");

        await Expect(ui.Page.Locator("#output")).ToContainTextAsync("replayed");
        await Expect(ui.Page.Locator("#job-status .badge")).ToHaveAttributeAsync("data-status", "failed");
        await Expect(ui.Page.Locator("[data-fact=exit_code] dd")).ToHaveTextAsync("3");
        await Expect(ui.Page.Locator("#artifacts")).ToContainTextAsync("report.txt");
        var download = await ui.Page.RunAndWaitForDownloadAsync(() => ui.Page.GetByRole(AriaRole.Button, new() { Name = "report.txt" }).ClickAsync());
        Assert.Equal("report.txt", download.SuggestedFilename);
        Assert.Equal("hi", await File.ReadAllTextAsync((await download.PathAsync())!));

        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Copy as curl" }).ClickAsync();
        await Expect(ui.Page.Locator("#curl-command")).ToHaveValueAsync(new Regex(@"^curl .*/api/v1/jobs -d '\{""script"":""import sys\\nprint\('\\''replayed"));
        await Expect(ui.Page.Locator("#curl-command")).Not.ToHaveValueAsync(new Regex(Regex.Escape(fixture.Server.AdminKey)));

        await ui.Page.GetByRole(AriaRole.Link, new() { Name = "Re-run" }).ClickAsync();
        await Expect(ui.Page.Locator(".CodeMirror")).ToContainTextAsync("replayed");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPages_ShowMarkupAJobWrites_AsText()
    {
        // Output, an artifact's name and the entrypoint are the job's (or its submitter's) words, shown to whoever opens
        // the page, an admin too: markup in them must stay text, never elements or script.
        const string Markup = "<img src=x onerror=\"document.title='pwned'\">";
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "import sys\nm = \"<img src=x onerror=\\\"document.title='pwned'\\\">\"\nprint(m)\nprint(m, file=sys.stderr)\nopen(m + '.txt', 'w').write('x')\n",
            Entrypoint = "<b onmouseover=alert(1)>main.py",
        }, wait: true);

        await ui.GotoAsync($"#/jobs/{job.Id}");
        await Expect(ui.Page.Locator("#artifacts")).ToContainTextAsync(Markup + ".txt");
        await Expect(ui.Page.Locator("#output")).ToContainTextAsync(Markup);
        await ui.GotoAsync("#/jobs");
        await Expect(ui.Page.Locator("main")).ToContainTextAsync(job.Id[..8]);

        Assert.Equal(0, await ui.Page.Locator("main img, main b[onmouseover]").CountAsync());
        Assert.DoesNotContain("pwned", await ui.Page.TitleAsync());
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_CancelsTheJob_WhenCancelIsClickedWhileItRuns()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('started', flush=True)\ntime.sleep(120)" });

        await ui.GotoAsync($"#/jobs/{job.Id}");
        await Expect(ui.Page.Locator("#output")).ToContainTextAsync("started");
        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Cancel", Exact = true }).ClickAsync();

        await Expect(ui.Page.Locator("#job-status .badge")).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = 30_000 });
        Assert.Equal("cancelled", (await fixture.Server.Admin.GetJobAsync(job.Id)).Status);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task RunPage_ForgetsTheForm_WhenSignedOut()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        await ui.GotoAsync("#/run");
        await Expect(page.Locator(".CodeMirror")).ToBeVisibleAsync();
        await page.EvaluateAsync("() => document.querySelector('.CodeMirror').CodeMirror.setValue('print(\"private script\")')");
        await page.GetByLabel("Environment").FillAsync("TOKEN=hunter2");
        await page.GetByLabel("Standard input").FillAsync("private input");

        // The next person to sign in on this tab saw the form, environment secrets included.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.GetByLabel("API key").FillAsync(fixture.Server.AdminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Run a script" })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Environment")).ToHaveValueAsync("");
        await Expect(page.GetByLabel("Standard input")).ToHaveValueAsync("");
        Assert.DoesNotContain("private script", await page.EvaluateAsync<string>("() => document.querySelector('.CodeMirror').CodeMirror.getValue()"));
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task RunPage_FocusesTheEditor_WhenTheScriptLabelIsClicked()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        await ui.GotoAsync("#/run");
        await Expect(page.Locator(".CodeMirror")).ToBeVisibleAsync();
        await page.EvaluateAsync("() => document.querySelector('.CodeMirror').CodeMirror.setValue('')");

        // The label pointed at the textarea CodeMirror hides: a click on it left the focus where it was.
        await page.Locator("label[for=code]").ClickAsync();
        await Expect(page.Locator(".CodeMirror textarea")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync("print('typed')");
        Assert.Equal("print('typed')", await page.EvaluateAsync<string>("() => document.querySelector('.CodeMirror').CodeMirror.getValue()"));
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_IsTitledWithItsJobId_WhenOpened()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('titled')" }, wait: true);

        await ui.GotoAsync($"#/jobs/{job.Id}");

        // Every job page was titled "Job · Runbox": tabs and the Back button's list could not tell them apart.
        await Expect(ui.Page).ToHaveTitleAsync($"Job {job.Id} · Runbox");
        await ui.GotoAsync("#/jobs");
        await Expect(ui.Page).ToHaveTitleAsync("Jobs · Runbox");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_SaysTheJobWasDeleted_WhenItIsDeletedWhileThePageShowsIt()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('started', flush=True)\ntime.sleep(120)" });
        await ui.GotoAsync($"#/jobs/{job.Id}");
        await Expect(page.Locator("#output")).ToContainTextAsync("started");
        await Expect(page.Locator("#job-status .badge")).ToHaveAttributeAsync("data-status", "running");

        // Another tab, the CLI or another admin deletes it: the page went on saying "running" and "Reconnecting…".
        (await fixture.Server.Admin.DeleteAsync($"/api/v1/jobs/{job.Id}")).EnsureSuccessStatusCode();

        await Expect(page.Locator("#job-status .badge")).ToHaveAttributeAsync("data-status", "deleted");
        await Expect(page.Locator("#job-error")).ToHaveTextAsync(new Regex("^This job was deleted while this page showed it"));
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel", Exact = true })).ToBeDisabledAsync();
        await Expect(page.Locator("#stream-state")).ToHaveTextAsync("");
        await Expect(page.Locator("#output")).ToContainTextAsync("started");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobsPage_FiltersByStatusAndText_WhenFiltersChange()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var marker = $"needle{Guid.NewGuid():N}"[..16];
        var found = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = $"print('{marker}')" }, wait: true);
        var failed = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = "raise SystemExit(2)" }, wait: true);

        await ui.GotoAsync("#/jobs");
        var rows = ui.Page.Locator("#jobs-body tr[data-job]");
        await Expect(ui.Page.Locator($"tr[data-job='{found.Id}']")).ToBeVisibleAsync();
        await Expect(ui.Page.Locator($"tr[data-job='{failed.Id}']")).ToBeVisibleAsync();
        await ui.ScreenshotAsync("jobs");
        await ui.Page.SetViewportSizeAsync(390, 844);
        await ui.ScreenshotAsync("jobs-narrow");
        await ui.Page.SetViewportSizeAsync(1280, 860);

        await ui.Page.GetByLabel("Status").SelectOptionAsync("failed");
        await Expect(ui.Page.Locator($"tr[data-job='{found.Id}']")).ToHaveCountAsync(0);
        await Expect(ui.Page.Locator($"tr[data-job='{failed.Id}']")).ToBeVisibleAsync();
        foreach (var status in await rows.EvaluateAllAsync<string[]>("rs => rs.map(r => r.dataset.status)"))
        {
            Assert.Equal("failed", status);
        }

        await ui.Page.GetByLabel("Status").SelectOptionAsync("");
        await ui.Page.GetByLabel("Search").FillAsync(marker);
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(ui.Page.Locator($"tr[data-job='{found.Id}']")).ToBeVisibleAsync();
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobsPage_CancelsAndDeletesSelectedJobs_WhenManyAreSelected()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var marker = $"bulk{Guid.NewGuid():N}"[..14];
        var ids = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            ids.Add((await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = $"# {marker}\nimport time\ntime.sleep(120)" })).Id);
        }

        await ui.GotoAsync("#/jobs");
        await ui.Page.GetByLabel("Search").FillAsync(marker);
        await Expect(ui.Page.Locator("#jobs-body tr[data-job]")).ToHaveCountAsync(2);
        await ui.Page.GetByLabel("Select all jobs on this page").CheckAsync();
        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Cancel selected" }).ClickAsync();
        foreach (var id in ids)
        {
            Assert.Equal("cancelled", (await fixture.Server.Admin.WaitEndedAsync(id)).Status);
        }
        await Expect(ui.Page.Locator("#jobs-body tr[data-status=cancelled]")).ToHaveCountAsync(2);

        await ui.Page.GetByLabel("Select all jobs on this page").CheckAsync();
        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Delete selected" }).ClickAsync();
        await ui.Page.Locator("dialog [data-confirm]").ClickAsync();
        await Expect(ui.Page.Locator("#jobs-body tr[data-job]")).ToHaveCountAsync(0);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await fixture.Server.Admin.GetAsync($"/api/v1/jobs/{ids[0]}")).StatusCode);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_ShowsTheLastTenThousandLines_WhenTheJobPrintedTwentyThousandLines()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = "for i in range(20000):\n    print(f'line {i}')" }, wait: true);
        Assert.Equal("succeeded", job.Status);

        await ui.GotoAsync($"#/jobs/{job.Id}");

        // One forced layout per line made this take minutes; the bound is Playwright's, not a timing assertion.
        var lines = ui.Page.Locator("#output > .line.stdout");
        await Expect(lines.Last).ToHaveTextAsync("line 19999", new() { Timeout = 60_000 });
        // The page keeps the last 10,000 lines (LongOutputTests); the rest is the stdout download.
        await Expect(lines).ToHaveCountAsync(10000);
        await Expect(lines.First).ToHaveTextAsync("line 10000");
        // The view follows the end of the output.
        await ui.Page.Locator("#output").ScrollIntoViewIfNeededAsync();
        await Expect(lines.Last).ToBeInViewportAsync();
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobsPage_KeepsFiltersInTheAddress_WhenOpenedFromALinkOrReloaded()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        var marker = $"hash{Guid.NewGuid():N}"[..14];
        var failed = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = $"# {marker}\nraise SystemExit(2)" }, wait: true);
        var succeeded = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = $"# {marker}\nprint(1)" }, wait: true);

        await ui.GotoAsync("#/jobs?status=failed");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Jobs" })).ToBeVisibleAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#/jobs\\?status=failed$"));
        await Expect(page.GetByLabel("Status")).ToHaveValueAsync("failed");
        await Expect(page.Locator($"tr[data-job='{failed.Id}']")).ToBeVisibleAsync();
        await Expect(page.Locator($"tr[data-job='{succeeded.Id}']")).ToHaveCountAsync(0);

        await page.GetByLabel("Search").FillAsync(marker);
        await Expect(page).ToHaveURLAsync(new Regex($"#/jobs\\?status=failed&q={marker}$"));
        await Expect(page.Locator("#jobs-body tr[data-job]")).ToHaveCountAsync(1);

        await page.ReloadAsync();
        await Expect(page.GetByLabel("Search")).ToHaveValueAsync(marker);
        await Expect(page.GetByLabel("Status")).ToHaveValueAsync("failed");
        await Expect(page.Locator("#jobs-body tr[data-job]")).ToHaveCountAsync(1);
        await Expect(page.Locator($"tr[data-job='{failed.Id}']")).ToBeVisibleAsync();

        // Back from a job returns to the same filtered list.
        await page.Locator($"tr[data-job='{failed.Id}'] a").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"#/jobs/{failed.Id}$"));
        await page.GoBackAsync();
        await Expect(page.GetByLabel("Search")).ToHaveValueAsync(marker);
        await Expect(page.Locator("#jobs-body tr[data-job]")).ToHaveCountAsync(1);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobsPage_KeepsKeyboardFocusOnItsRow_WhenTheListRefreshes()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        var marker = $"focus{Guid.NewGuid():N}"[..15];
        var ended = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = $"# {marker}" }, wait: true);
        await ui.GotoAsync($"#/jobs?q={marker}");
        var endedLink = page.Locator($"tr[data-job='{ended.Id}'] a");
        await Expect(endedLink).ToBeVisibleAsync();
        await endedLink.FocusAsync();

        // The list refreshes every 2 s; a job submitted now shows above the focused row, which keeps the focus.
        var running = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = $"# {marker}\nimport time\ntime.sleep(8)" });
        var runningRow = page.Locator($"tr[data-job='{running.Id}']");
        await Expect(runningRow).ToHaveAttributeAsync("data-status", "running");
        await Expect(page.Locator("#jobs-body tr[data-job]").First).ToHaveAttributeAsync("data-job", running.Id);
        await Expect(endedLink).ToBeFocusedAsync();

        // A row whose job changes is built again: the focus moves to the same control in it.
        var box = runningRow.GetByRole(AriaRole.Checkbox);
        await box.FocusAsync();
        await page.Keyboard.PressAsync("Space");
        await Expect(runningRow).ToHaveAttributeAsync("data-status", "succeeded", new() { Timeout = 60_000 });
        await Expect(box).ToBeFocusedAsync();
        await Expect(box).ToBeCheckedAsync();
        await Expect(page.Locator("#selected-count")).ToHaveTextAsync("1 selected");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobsPage_OffersTheNewestPage_WhenTheAddressHoldsACursorTheServerRefuses()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('newest')" }, wait: true);

        await ui.GotoAsync("#/jobs?cursor=not-a-cursor&page=3");
        await Expect(page.Locator("#jobs-body")).ToContainTextAsync("Could not list jobs: cursor");

        // "Newest" stayed disabled: the only way out was editing the address.
        await page.GetByRole(AriaRole.Button, new() { Name = "« Newest" }).ClickAsync();
        await Expect(page.Locator($"tr[data-job='{job.Id}']")).ToBeVisibleAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#/jobs$"));
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_MarksTheOutputAsTruncated_WhenTheJobHitItsOutputLimit()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "for i in range(5000):\n    print(f'line {i}', flush=True)",
            Limits = new JobLimitsBody { OutputBytes = 2000 },
        }, wait: true);
        Assert.True(job.StdoutTruncated, "the server should report stdout truncated");

        await ui.GotoAsync($"#/jobs/{job.Id}");

        var marker = ui.Page.Locator("#output [data-truncated]");
        await Expect(marker).ToBeVisibleAsync();
        await Expect(marker).ToContainTextAsync("Output truncated: stdout reached the output limit (2.0 KB)");
        await Expect(ui.Page.Locator("#output > .line").Last).ToHaveAttributeAsync("data-truncated", "stdout");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_ShowsNoTimesOrMemory_WhenTheJobWasCancelledBeforeItStarted()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        // The fixture's server has three slots: three sleepers keep a fourth job queued.
        var sleepers = new List<string>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                sleepers.Add((await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\ntime.sleep(120)" })).Id);
            }
            foreach (var id in sleepers)
            {
                await WaitForStatusAsync(id, "running");
            }
            var queued = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('never')" });
            Assert.Equal("queued", (await fixture.Server.Admin.GetJobAsync(queued.Id)).Status);
            (await fixture.Server.Admin.PostAsync($"/api/v1/jobs/{queued.Id}/cancel", null)).EnsureSuccessStatusCode();
            var cancelled = await fixture.Server.Admin.WaitEndedAsync(queued.Id);
            Assert.Equal("cancelled", cancelled.Status);
            Assert.Null(cancelled.StartedAt);

            await ui.GotoAsync($"#/jobs/{queued.Id}");

            await Expect(ui.Page.Locator("#job-status .badge")).ToHaveAttributeAsync("data-status", "cancelled");
            await Expect(ui.Page.Locator("[data-fact=wall] dd")).ToHaveTextAsync("—");
            await Expect(ui.Page.Locator("[data-fact=cpu] dd")).ToHaveTextAsync("—");
            await Expect(ui.Page.Locator("[data-fact=memory] dd")).ToHaveTextAsync("—");
            ui.AssertNoBrowserErrors();
        }
        finally
        {
            await fixture.Server.Admin.PostAsJsonAsync("/api/v1/jobs/cancel", new { ids = sleepers });
        }
    }

    private async Task WaitForStatusAsync(string id, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await fixture.Server.Admin.GetJobAsync(id)).Status != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"job {id} never became {status}");
            await Task.Delay(100);
        }
    }

    [SkippableFact]
    public async Task RunPage_KeepsTheUnsubmittedForm_WhenThePageIsLeftOrReloaded()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        await ui.GotoAsync("#/run");
        await page.Locator(".CodeMirror").ClickAsync();
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.TypeAsync("print('typed, never run')");
        await page.GetByLabel("Language").SelectOptionAsync("bash");
        await page.GetByLabel("Timeout (seconds)").FillAsync("7");
        await page.GetByLabel("Processes").FillAsync("9");
        await page.GetByLabel("Arguments").FillAsync("x\ny");
        await page.GetByLabel("Environment").FillAsync("A=1");

        await page.GetByRole(AriaRole.Link, new() { Name = "Jobs" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Jobs" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Run", Exact = true }).ClickAsync();
        await ExpectForm();

        // A reload straight after typing: the timer that saves the draft has not fired, the page's unload saves it.
        await page.GetByLabel("Timeout (seconds)").FillAsync("8");
        await page.ReloadAsync();
        await Expect(page.GetByLabel("Timeout (seconds)")).ToHaveValueAsync("8");
        await ExpectForm();
        ui.AssertNoBrowserErrors();

        async Task ExpectForm()
        {
            await Expect(page.Locator(".CodeMirror")).ToContainTextAsync("print('typed, never run')");
            await Expect(page.GetByLabel("Language")).ToHaveValueAsync("bash");
            await Expect(page.GetByLabel("Processes")).ToHaveValueAsync("9");
            await Expect(page.GetByLabel("Arguments")).ToHaveValueAsync("x\ny");
            await Expect(page.GetByLabel("Environment")).ToHaveValueAsync("A=1");
        }
    }

    [SkippableFact]
    public async Task RunPage_KeepsEveryLimitAndOption_WhenAJobIsRunAgain()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        var limits = new JobLimitsBody
        {
            TimeoutSeconds = 30, CpuSeconds = 20, MemoryMb = 300, Processes = 40, OutputBytes = 500000, FileSizeMb = 8, DiskMb = 64,
        };
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "import os, sys\nprint(os.environ.get('GREETING'), sys.argv[1:], sys.stdin.read(), os.path.basename(__file__))",
            Entrypoint = "report.py",
            Args = ["a", "b"],
            Stdin = "from stdin",
            Env = new() { ["GREETING"] = "hi" },
            Limits = limits,
            MaxAttempts = 2,
        }, wait: true);

        // The job page's curl command carries every limit, and says that env is not among them.
        await ui.GotoAsync($"#/jobs/{job.Id}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Copy as curl" }).ClickAsync();
        var curl = page.Locator("#curl-command");
        await Expect(curl).ToHaveValueAsync(new Regex(Regex.Escape(
            @"""limits"":{""timeout_seconds"":30,""cpu_seconds"":20,""memory_mb"":300,""processes"":40,""output_bytes"":500000,""file_size_mb"":8,""disk_mb"":64}")));
        await Expect(curl).ToHaveValueAsync(new Regex(Regex.Escape(@"""max_attempts"":2")));
        await Expect(curl).ToHaveValueAsync(new Regex(Regex.Escape(@"""entrypoint"":""report.py""")));
        await Expect(page.Locator("#curl-env-note")).ToContainTextAsync("Environment variables (env)");

        await page.GetByRole(AriaRole.Link, new() { Name = "Re-run" }).ClickAsync();
        await Expect(page.Locator(".CodeMirror")).ToContainTextAsync("GREETING");
        await Expect(page.Locator("#rerun-note")).ToContainTextAsync("Environment variables (env)");
        await Expect(page.GetByLabel("Timeout (seconds)")).ToHaveValueAsync("30");
        await Expect(page.GetByLabel("CPU time (seconds)")).ToHaveValueAsync("20");
        await Expect(page.GetByLabel("Memory (MB)")).ToHaveValueAsync("300");
        await Expect(page.GetByLabel("Processes")).ToHaveValueAsync("40");
        await Expect(page.GetByLabel("Output (bytes)")).ToHaveValueAsync("500000");
        await Expect(page.GetByLabel("File size (MB)")).ToHaveValueAsync("8");
        await Expect(page.GetByLabel("Disk (MB)")).ToHaveValueAsync("64");
        await Expect(page.GetByLabel("Attempts")).ToHaveValueAsync("2");
        await Expect(page.GetByLabel("Arguments")).ToHaveValueAsync("a\nb");
        await Expect(page.GetByLabel("Standard input")).ToHaveValueAsync("from stdin");
        await Expect(page.GetByLabel("File name")).ToHaveValueAsync("report.py");

        // The environment is added again by hand, as the note says.
        await page.GetByLabel("Environment").FillAsync("GREETING=hi");
        await page.GetByRole(AriaRole.Button, new() { Name = "Run", Exact = true }).ClickAsync();
        await Expect(page).ToHaveURLAsync(JobUrl());
        var again = page.Url[(page.Url.LastIndexOf('/') + 1)..];
        Assert.NotEqual(job.Id, again);
        await Expect(page.Locator("#output")).ToContainTextAsync("hi ['a', 'b'] from stdin report.py");
        var rerun = await fixture.Server.Admin.GetJobAsync(again);
        Assert.Equal(limits, rerun.Limits);
        Assert.Equal(2, rerun.MaxAttempts);
        Assert.Equal("report.py", rerun.Entrypoint);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_OffersNoEmptyRerunOrCurl_WhenTheJobWasSubmittedWithFiles()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var page = ui.Page;
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Files = new() { ["main.py"] = "import helper"u8.ToArray(), ["helper.py"] = "print('from files')"u8.ToArray() },
        }, wait: true);

        await ui.GotoAsync($"#/jobs/{job.Id}");
        await Expect(page.Locator("#output")).ToContainTextAsync("from files");

        await Expect(page.Locator("#files-note")).ToContainTextAsync("Submitted with files (entry point main.py)");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Re-run" })).ToBeDisabledAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Re-run" })).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Copy as curl" })).ToBeDisabledAsync();

        // Opened by its address, the run form says why it loads nothing instead of emptying the editor.
        await ui.GotoAsync("#/run");
        await page.EvaluateAsync("s => document.querySelector('.CodeMirror').CodeMirror.setValue(s)", "print('my own draft')");
        await ui.GotoAsync($"#/run/{job.Id}");
        await Expect(page.Locator("#rerun-note")).ToContainTextAsync("was submitted with files");
        await Expect(page.Locator(".CodeMirror")).ToContainTextAsync("my own draft");
        ui.AssertNoBrowserErrors();
    }

    [GeneratedRegex("#/jobs/[0-9a-f]{32}$")]
    private static partial Regex JobUrl();
}
