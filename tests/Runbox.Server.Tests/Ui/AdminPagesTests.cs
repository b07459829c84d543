using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Server.Tests.Runtimes;
using Runbox.Server.Worker;
using Runbox.Storage;
using Runbox.Storage.Workers;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Runbox.Server.Tests.Ui;

/// <summary>Runtimes, Workers and Maintenance pages, and what a non-admin key sees.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AdminPagesTests(BrowserFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task MaintenancePage_ShowsThroughputAndLatency_WhenABenchmarkRuns()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        await ui.GotoAsync("#/maintenance");
        await ui.Page.GetByLabel("Jobs (N)").FillAsync("12");
        await ui.Page.GetByLabel("Concurrency (C)").FillAsync("3");
        // Counts each change of the live region a screen reader follows.
        await ui.Page.Locator("#bench-status").EvaluateAsync(
            "e => { window.liveChanges = 0; new MutationObserver(() => window.liveChanges++).observe(e, { childList: true, characterData: true, subtree: true }); }");
        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Start benchmark" }).ClickAsync();

        await Expect(ui.Page.Locator("#bench-status")).ToContainTextAsync("Finished 12 jobs", new() { Timeout = 60_000 });
        await Expect(ui.Page.Locator("#bench-counter")).ToContainTextAsync("12 / 12 jobs");
        // Its start and its end, where every 100 ms tick of the elapsed time used to be read out.
        Assert.Equal(2, await ui.Page.EvaluateAsync<int>("() => window.liveChanges"));
        await Expect(ui.Page.Locator("#bench-progress")).ToHaveAttributeAsync("aria-valuenow", "100");
        await Expect(ui.Page.Locator("[data-fact=outcomes] dd")).ToHaveTextAsync("12 succeeded");
        await Expect(ui.Page.Locator("[data-fact=errors] dd")).ToHaveTextAsync("0");
        await Expect(ui.Page.Locator("[data-fact=p50] dd")).ToContainTextAsync("s");
        await Expect(ui.Page.Locator("[data-fact=p99] dd")).ToContainTextAsync("s");
        await Expect(ui.Page.Locator("svg.chart rect.bar")).Not.ToHaveCountAsync(0);
        await ui.ScreenshotAsync("maintenance");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task MaintenancePage_SaysWhyRequestsFailed_WhenTheServerRefusesTheBenchmarksJobs()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        await ui.GotoAsync("#/maintenance");
        await ui.Page.GetByLabel("Jobs (N)").FillAsync("3");
        await ui.Page.GetByLabel("Concurrency (C)").FillAsync("1");
        // A runtime the page listed and another admin deleted since: the server refuses each job on it the same way.
        await Expect(ui.Page.Locator("#bench-runtime option[value=default]")).ToHaveCountAsync(1);
        await ui.Page.Locator("#bench-runtime").EvaluateAsync("s => { s.add(new Option('deleted-since', 'deleted-since')); s.value = 'deleted-since'; }");
        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Start benchmark" }).ClickAsync();

        await Expect(ui.Page.Locator("[data-fact=errors] dd")).ToHaveTextAsync("3", new() { Timeout = 60_000 });
        await Expect(ui.Page.Locator("#bench-status")).ToContainTextAsync("3 request(s) failed");
        // The count alone used to be all the page said.
        await Expect(ui.Page.Locator("#bench-errors")).ToContainTextAsync("3 × ");
        await Expect(ui.Page.Locator("#bench-errors")).ToContainTextAsync("deleted-since");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task MaintenancePage_CancelsEveryRunningJob_WhenCancelAllIsConfirmed()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var (user, _) = await fixture.Server.UserAsync("someone");
        var job = await Infrastructure.Api.SubmitOkAsync(user, new Runbox.Server.Jobs.JobSubmission { Script = "import time\ntime.sleep(120)" });

        await ui.GotoAsync("#/maintenance");
        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Cancel all running jobs" }).ClickAsync();
        await ui.Page.Locator("dialog [data-confirm]").ClickAsync();

        Assert.Equal("cancelled", (await Infrastructure.Api.WaitEndedAsync(fixture.Server.Admin, job.Id)).Status);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task RuntimesPage_FollowsTheStateLive_WhenARuntimeIsCreatedAndAPackageInstalled()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        await ui.GotoAsync("#/runtimes");
        await Expect(ui.Page.GetByRole(AriaRole.Heading, new() { Name = "Runtimes" })).ToBeVisibleAsync();
        await Expect(ui.Page.Locator("tr[data-runtime=default]")).ToBeVisibleAsync();

        await ui.Page.GetByLabel("Name", new() { Exact = true }).FillAsync("uitest");
        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        var row = ui.Page.Locator("tr[data-runtime=uitest]");
        // Creating a virtual environment takes seconds: the row shows installing with its spinner first.
        await Expect(row).ToHaveAttributeAsync("data-state", "installing");
        await Expect(row.Locator(".badge .spinner")).ToBeVisibleAsync();
        await ui.ScreenshotAsync("runtimes");
        await Expect(row).ToHaveAttributeAsync("data-state", "operational", new() { Timeout = 120_000 });
        await ui.ScreenshotAsync("runtimes-operational");

        await row.GetByLabel("Packages to install in uitest").FillAsync("uitiny");
        await row.GetByRole(AriaRole.Button, new() { Name = "Install" }).ClickAsync();
        // The install goes into a copy of the environment: the runtime stays operational (it takes jobs), its row
        // shows the install's progress with Install and Test disabled, then the new package.
        await Expect(row.Locator("[data-progress]")).ToBeVisibleAsync();
        await Expect(row).ToHaveAttributeAsync("data-state", "operational");
        await Expect(row.GetByRole(AriaRole.Button, new() { Name = "Install" })).ToBeDisabledAsync();
        await Expect(row.Locator("[data-progress]")).ToHaveCountAsync(0, new() { Timeout = 120_000 });
        await Expect(row).ToContainTextAsync("uitiny 0.1");

        // An install that fails leaves it working, and the row says what failed.
        await row.GetByLabel("Packages to install in uitest").FillAsync("nosuchpackage");
        await row.GetByRole(AriaRole.Button, new() { Name = "Install" }).ClickAsync();
        await Expect(row.Locator("[data-install-error]")).ToContainTextAsync("Installing nosuchpackage failed; the runtime kept what it had.", new() { Timeout = 120_000 });
        await Expect(row.Locator("[data-install-error]")).ToContainTextAsync("ERROR: No matching distribution found for nosuchpackage");
        await Expect(row).ToHaveAttributeAsync("data-state", "operational");
        await Expect(row.Locator("[data-error]")).ToHaveCountAsync(0);

        await row.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await ui.Page.Locator("dialog [data-confirm]").ClickAsync();
        await Expect(row).ToHaveCountAsync(0);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task RuntimesPage_LinksAFailedRuntimeToItsKeptSmokeTestJob_WhenTheSmokeTestFails()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        try
        {
            await ui.GotoAsync("#/runtimes");
            await ui.Page.GetByLabel("Name", new() { Exact = true }).FillAsync("uibroken");
            // brokenprint's .pth replaces print() at interpreter start, so the smoke test's hello world fails.
            await ui.Page.GetByLabel("Packages", new() { Exact = true }).FillAsync("brokenprint");
            await ui.Page.GetByLabel("Preload modules").FillAsync("json");
            await ui.Page.GetByLabel("See the system's site-packages").CheckAsync();
            await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
            var row = ui.Page.Locator("tr[data-runtime=uibroken]");
            await Expect(row).ToBeVisibleAsync();
            // The form is ready for the next runtime: every field is cleared, not only the name.
            await Expect(ui.Page.GetByLabel("Name", new() { Exact = true })).ToHaveValueAsync("");
            await Expect(ui.Page.GetByLabel("Packages", new() { Exact = true })).ToHaveValueAsync("");
            await Expect(ui.Page.GetByLabel("Preload modules")).ToHaveValueAsync("");
            await Expect(ui.Page.GetByLabel("See the system's site-packages")).Not.ToBeCheckedAsync();
            await Expect(row).ToHaveAttributeAsync("data-state", "failed", new() { Timeout = 180_000 });
            await Expect(row.Locator(".badge")).ToHaveTextAsync("failed");
            await Expect(row).ToContainTextAsync("print is broken");
            // The error is the traceback: shown with its line breaks, in a box that scrolls.
            var error = row.Locator(".error-text", new() { HasText = "print is broken" });
            Assert.Contains("\nRuntimeError: print is broken", await error.InnerTextAsync());
            await ui.ScreenshotAsync("runtimes-failed");
            var smokeTestJobId = (await fixture.Server.Admin.GetRuntimeAsync("uibroken")).SmokeTestJobId;
            Assert.NotNull(smokeTestJobId);

            await row.GetByRole(AriaRole.Link, new() { Name = "smoke test job" }).ClickAsync();

            await ui.Page.WaitForURLAsync(new System.Text.RegularExpressions.Regex($"#/jobs/{smokeTestJobId}$"));
            await Expect(ui.Page.Locator("#job-status .badge")).ToHaveAttributeAsync("data-status", "failed");
            await Expect(ui.Page.Locator("#output .line.stderr", new() { HasText = "RuntimeError: print is broken" })).ToBeVisibleAsync();
            await Expect(ui.Page.Locator("[data-fact=exit_code] dd")).Not.ToHaveTextAsync("0");

            // The run page shows the runtime's state and does not let it be chosen (jobs on it are refused).
            await ui.GotoAsync("#/run");
            var option = ui.Page.Locator("#runtime option[value=uibroken]");
            await Expect(option).ToHaveTextAsync("uibroken (failed)");
            await Expect(option).ToBeDisabledAsync();
            await Expect(ui.Page.Locator("#runtime-note")).ToContainTextAsync("uibroken (failed)");
            await Expect(ui.Page.Locator("#runtime option[value=default]")).ToBeEnabledAsync();
            ui.AssertNoBrowserErrors();
        }
        finally
        {
            await fixture.Server.Admin.DeleteAsync("/api/v1/runtimes/uibroken?force=true");
        }
    }

    [SkippableFact]
    public async Task RunAndMaintenancePages_OfferARuntimeMadeWhileTheyWereOpen_OnceItIsInstalled()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var pages = new[] { ("#/run", "#runtime", "uilaterrun"), ("#/maintenance", "#bench-runtime", "uilaterbench") };
        try
        {
            foreach (var (page, picker, name) in pages)
            {
                await ui.GotoAsync(page);
                await Expect(ui.Page.Locator($"{picker} option[value=default]")).ToHaveCountAsync(1);
                // Made in another tab (here: through the API) while this page is open; the user comes back to it.
                var created = await fixture.Server.Admin.PostAsJsonAsync("/api/v1/runtimes",
                    new Runbox.Server.Runtimes.RuntimeCreateRequest { Name = name }, Runbox.Server.Http.RunboxJson.Options);
                Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
                await ui.Page.EvaluateAsync("() => window.dispatchEvent(new Event('focus'))");

                // Pickers filled once never listed it; one that saw it installing kept it disabled until a reload.
                var option = ui.Page.Locator($"{picker} option[value={name}]");
                await Expect(option).ToBeEnabledAsync(new() { Timeout = 120_000 });
                await Expect(option).ToHaveTextAsync(name);
                await ui.Page.Locator(picker).SelectOptionAsync(name);
            }
            ui.AssertNoBrowserErrors();
        }
        finally
        {
            foreach (var (_, _, name) in pages)
                await fixture.Server.Admin.DeleteAsync($"/api/v1/runtimes/{name}?force=true");
        }
    }

    [SkippableFact]
    public async Task WorkersPage_ListsEachNodeAndShowsOneTurnStaleLive_WhenItsHeartbeatsStop()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var store = fixture.Server.App.Services.GetRequiredService<IJobStore>();
        var local = Assert.Single((await (await fixture.Server.Admin.GetAsync("/api/v1/workers")).ReadAsync<WorkerListResponse>()).Workers);
        // A node that heartbeats once and never again: it turns stale a lease (10 s) later, as a killed node would.
        await store.HeartbeatWorkerAsync(new WorkerRecord
        {
            Name = "ui-ghost-node",
            Slots = 5,
            Busy = 2,
            Runtimes = ["default", "science"],
            StartedAt = DateTimeOffset.UtcNow.AddMinutes(-5),
        });
        try
        {
            await ui.GotoAsync("#/workers");

            var ghost = ui.Page.Locator("tr[data-worker=ui-ghost-node]");
            await Expect(ghost).ToHaveAttributeAsync("data-status", "alive");
            await Expect(ghost.Locator("[data-slots]")).ToHaveTextAsync("5");
            await Expect(ghost.Locator("[data-busy]")).ToHaveTextAsync("2");
            await Expect(ghost.Locator("[data-runtimes]")).ToHaveTextAsync("default, science");
            await Expect(ghost.Locator("[data-last-seen]")).ToContainTextAsync("ago");
            var node = ui.Page.Locator($"tr[data-worker='{local.Name}']");
            await Expect(node).ToHaveAttributeAsync("data-status", "alive");
            await Expect(node.Locator("[data-slots]")).ToHaveTextAsync("3");
            await Expect(node.Locator("[data-runtimes]")).ToContainTextAsync("default");
            await ui.ScreenshotAsync("workers");

            // No reload: the page refreshes itself, and the ghost's badge changes while the local node stays alive.
            await Expect(ghost).ToHaveAttributeAsync("data-status", "stale", new() { Timeout = 90_000 });
            await Expect(ghost.Locator(".badge")).ToHaveTextAsync("stale");
            await Expect(node).ToHaveAttributeAsync("data-status", "alive");
            await ui.ScreenshotAsync("workers-stale");
            ui.AssertNoBrowserErrors();
        }
        finally
        {
            await store.RemoveWorkerAsync("ui-ghost-node");
        }
    }

    [SkippableFact]
    public async Task Navigation_HidesAdminPages_WhenTheKeyIsNotAdmin()
    {
        var (user, _) = await fixture.Server.UserAsync("viewer");
        var key = user.DefaultRequestHeaders.Authorization!.Parameter!;
        await using var ui = await UiSession.OpenAsync(fixture, output, key);
        await ui.GotoAsync("#/jobs");

        await Expect(ui.Page.GetByRole(AriaRole.Link, new() { Name = "Jobs" })).ToBeVisibleAsync();
        await Expect(ui.Page.GetByRole(AriaRole.Link, new() { Name = "Maintenance" })).ToBeHiddenAsync();
        await Expect(ui.Page.GetByRole(AriaRole.Link, new() { Name = "Workers" })).ToBeHiddenAsync();
        // The runtimes API is for admin keys: the page could only fail.
        await Expect(ui.Page.GetByRole(AriaRole.Link, new() { Name = "Runtimes" })).ToBeHiddenAsync();
        await Expect(ui.Page.Locator("#who")).ToContainTextAsync("key ");
        await Expect(ui.Page.Locator("#connection")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("online"));
        await ui.GotoAsync("#/runtimes");
        await Expect(ui.Page.GetByRole(AriaRole.Main)).ToContainTextAsync("Runtimes are managed with an admin key.");
        await Expect(ui.Page.Locator("#runtimes-table")).ToHaveCountAsync(0);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task SignIn_SaysTheKeyWasRefused_WhenItIsRevokedWhileSignedIn()
    {
        var (user, keyId) = await fixture.Server.UserAsync("revoked-in-ui");
        var key = user.DefaultRequestHeaders.Authorization!.Parameter!;
        await using var ui = await UiSession.OpenAsync(fixture, output, key);
        var page = ui.Page;
        await ui.GotoAsync("#/jobs");
        await Expect(page.Locator("#who")).ToContainTextAsync(keyId);

        (await fixture.Server.Admin.DeleteAsync($"/api/v1/keys/{keyId}")).EnsureSuccessStatusCode();

        // The list's next refresh meets 401: the sign-in form says why it is back, where it used to say nothing.
        var signIn = page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" });
        await Expect(signIn).ToBeVisibleAsync();
        await Expect(page.Locator(".signin [role=alert]")).ToContainTextAsync("The server refused this tab's key");
        await Expect(page.GetByRole(AriaRole.Navigation)).ToBeHiddenAsync();

        // A reload with the refused key in the tab's session (the session's init script puts it back) says so too.
        await page.ReloadAsync();
        await Expect(signIn).ToBeVisibleAsync();
        await Expect(page.Locator(".signin [role=alert]")).ToContainTextAsync("The server refused this tab's key");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task SignIn_NamesTheCharacter_WhenTheKeyHoldsOneAHeaderCannotCarry()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, key: null);
        await ui.GotoAsync("");
        // A key pasted from a document that turned "..." into an ellipsis: fetch threw, and the form said "refused".
        await ui.Page.GetByLabel("API key").FillAsync("rbx_abc\u2026");
        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        await Expect(ui.Page.Locator(".signin [role=alert]")).ToContainTextAsync("holds \"\u2026\" (U+2026)");
        await Expect(ui.Page.GetByLabel("API key")).ToBeFocusedAsync();
        Assert.Null(await ui.Page.EvaluateAsync<string?>("() => sessionStorage.getItem('runbox.key')"));
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task SignIn_RefusesAWrongKey_WhenSubmitted()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, key: null);
        await ui.GotoAsync("");
        await ui.Page.GetByLabel("API key").FillAsync("rbx_not_a_key");
        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(ui.Page.Locator(".signin .error-text")).ToContainTextAsync("refused");
        await Expect(ui.Page.GetByRole(AriaRole.Navigation)).ToBeHiddenAsync();
    }
}
