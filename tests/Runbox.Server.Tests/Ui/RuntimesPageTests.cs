using Microsoft.Playwright;
using Runbox.Server.Runtimes;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Server.Tests.Runtimes;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Runbox.Server.Tests.Ui;

/// <summary>The Runtimes page as an operator uses it from the keyboard while an install runs.</summary>
[Collection(BrowserCollection.Name)]
public sealed class RuntimesPageTests(BrowserFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task RuntimesPage_KeepsTypingAndFocus_WhileAnotherRuntimeInstalls_AndDeletesItFromTheKeyboard()
    {
        fixture.RequireBrowser();
        using var wheels = new TempFolder();
        RuntimeServer.WriteWheels(wheels.Path);
        // extrapkg's download waits until released: the runtime is installing, and the page refreshing, for as long as needed.
        await using var index = await GatedWheelServer.StartAsync(wheels.Path, "extrapkg-");
        await using var server = await RunningServer.StartAsync(output, RuntimeServer.Settings(index.Url));
        await using var ui = await UiSession.OpenAsync(fixture, output, server.AdminKey, server.Address);
        var page = ui.Page;
        await ui.GotoAsync("#/runtimes");
        var defaultRow = page.Locator("tr[data-runtime=default]");
        await Expect(defaultRow).ToBeVisibleAsync();

        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("gated");
        await page.GetByLabel("Packages", new() { Exact = true }).FillAsync("extrapkg");
        await page.Keyboard.PressAsync("Enter");
        var gated = page.Locator("tr[data-runtime=gated]");
        await Expect(gated).ToHaveAttributeAsync("data-state", "installing");
        await index.Requested.WaitAsync(TimeSpan.FromSeconds(120));

        // The operator starts on another runtime's install while this one installs: the page refreshes every second.
        var box = defaultRow.GetByLabel("Packages to install in default");
        await box.FocusAsync();
        await page.Keyboard.TypeAsync("tinypkg");
        for (var i = 0; i < 3; i++)
        {
            await page.WaitForResponseAsync(r => r.Url.EndsWith("/api/v1/runtimes", StringComparison.Ordinal));
        }
        await Expect(gated).ToHaveAttributeAsync("data-state", "installing");
        // Each refresh used to rebuild every row: what was typed was gone, and focus was back at the top of the page.
        await Expect(box).ToHaveValueAsync("tinypkg");
        await Expect(box).ToBeFocusedAsync();

        // Escape closes the confirmation as "no", and focus is back on Delete.
        var delete = gated.GetByRole(AriaRole.Button, new() { Name = "Delete" });
        await delete.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        var dialog = page.Locator("dialog[open]");
        await Expect(dialog).ToContainTextAsync("Delete the runtime gated");
        await page.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(gated).ToBeVisibleAsync();
        await Expect(delete).ToBeFocusedAsync();

        // It is installing, so the server refuses a plain delete: deleting anyway is a second choice, made with Tab and Enter.
        await page.Keyboard.PressAsync("Enter");
        await Expect(dialog).ToContainTextAsync("Delete the runtime gated");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.PressAsync("Enter");
        await Expect(dialog).ToContainTextAsync("Delete it anyway?");
        await Expect(dialog.GetByRole(AriaRole.Button, new() { Name = "Delete anyway" })).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.PressAsync("Enter");
        await Expect(gated).ToHaveCountAsync(0);
        await Expect(page.Locator("#toast")).ToContainTextAsync("gated deleted.");
        // Focus goes to the row now in the deleted one's place, where it used to fall to the page's top.
        await Expect(box).ToBeFocusedAsync();
        await Expect(box).ToHaveValueAsync("tinypkg");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await server.Admin.GetAsync("/api/v1/runtimes/gated")).StatusCode);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task RuntimesPage_SaysWhatANameMayHold_WhenTheNameIsRefused()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        await ui.GotoAsync("#/runtimes");
        var name = ui.Page.GetByLabel("Name", new() { Exact = true });
        await name.FillAsync("Data Set");
        await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();

        // The browser's bubble used to say only "Please match the requested format."
        var message = await name.EvaluateAsync<string>("e => e.validationMessage");
        Assert.Contains("1-64 of a-z, 0-9", message);
        await Expect(name).ToBeFocusedAsync();
        await Expect(ui.Page.Locator("tr[data-runtime]")).ToHaveCountAsync(1);
        // Screen readers read the rule with the field.
        await Expect(name).ToHaveAccessibleDescriptionAsync(new System.Text.RegularExpressions.Regex("1-64 of a-z"));

        // 64 characters is a name the server takes: the form used to refuse it.
        await name.FillAsync(new string('a', 64));
        Assert.True(await name.EvaluateAsync<bool>("e => e.checkValidity()"));
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task RuntimesPage_AsksAgain_WhenTheListDidNotAnswerWhileTheServerStayedUp()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        // The list's requests get no answer (a restart quicker than the header's /healthz checks, a proxy's hiccup),
        // while /healthz does: the header never sees the server down, so no "reconnected" refreshes the page.
        await ui.Page.RouteAsync("**/api/v1/runtimes", route => route.AbortAsync());
        await ui.GotoAsync("#/runtimes");
        var unavailable = ui.Page.Locator("#runtimes-unavailable");
        await Expect(unavailable).ToContainTextAsync("Could not list runtimes");
        await Expect(unavailable).ToContainTextAsync("Retrying");
        await Expect(unavailable).ToHaveAttributeAsync("role", "status");
        await Expect(ui.Page.Locator("#connection")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("online"));

        await ui.Page.UnrouteAsync("**/api/v1/runtimes");
        // The page used to stay on the error until reloaded.
        await Expect(ui.Page.Locator("tr[data-runtime=default]")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(unavailable).ToBeHiddenAsync();
    }

    [SkippableFact]
    public async Task RuntimesPage_KeepsFocusAndSaysWhatChanged_WhenARuntimeIsCreatedAndAnInstallFails()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        try
        {
            await ui.GotoAsync("#/runtimes");
            var name = ui.Page.GetByLabel("Name", new() { Exact = true });
            await name.FillAsync("uisaid");
            await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Create" }).FocusAsync();
            await ui.Page.Keyboard.PressAsync("Enter");
            var row = ui.Page.Locator("tr[data-runtime=uisaid]");
            await Expect(row).ToBeVisibleAsync();
            // Create is disabled while the server answers, which dropped focus to the page's top.
            await Expect(name).ToBeFocusedAsync();

            // The badges change silently for a screen reader: a status region says what changed.
            var announce = ui.Page.Locator("#runtimes-announce");
            await Expect(announce).ToHaveAttributeAsync("role", "status");
            await Expect(announce).ToHaveTextAsync("uisaid is operational.", new() { Timeout = 120_000 });

            await row.GetByLabel("Packages to install in uisaid").FillAsync("nosuchpackage");
            await ui.Page.Keyboard.PressAsync("Enter");
            await Expect(announce).ToHaveTextAsync("Installing into uisaid failed; it kept what it had.", new() { Timeout = 120_000 });
            await Expect(row.Locator("[data-install-error]")).ToContainTextAsync("nosuchpackage");
            // The install was taken, so its box was emptied.
            await Expect(row.GetByLabel("Packages to install in uisaid")).ToHaveValueAsync("");
            ui.AssertNoBrowserErrors();
        }
        finally
        {
            await fixture.Server.Admin.DeleteAsync("/api/v1/runtimes/uisaid?force=true");
        }
    }

    [SkippableFact]
    public async Task RuntimesPage_RemovesAPreload_FromTheRuntimesInstallBox()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var admin = fixture.Server.Admin;
        try
        {
            await admin.CreateAsync(new RuntimeCreateRequest { Name = "uipreload", Preload = ["wave", "csv"] });
            Assert.Equal("operational", (await admin.WaitSettledAsync("uipreload")).State);
            await ui.GotoAsync("#/runtimes");
            var row = ui.Page.Locator("tr[data-runtime=uipreload]");
            await Expect(row.Locator("td[data-label=Preload]")).ToHaveTextAsync("wave, csv");

            // The install box sent packages only: a preload that broke a runtime could be taken out only from the API or CLI.
            await row.GetByLabel("Preload to remove from uipreload").SelectOptionAsync("wave");
            await row.GetByRole(AriaRole.Button, new() { Name = "Install" }).ClickAsync();
            await Expect(ui.Page.Locator("#runtimes-announce")).ToHaveTextAsync("Installing into uipreload finished.", new() { Timeout = 120_000 });

            await Expect(row.Locator("td[data-label=Preload]")).ToHaveTextAsync("csv");
            await Expect(row).ToHaveAttributeAsync("data-state", "operational");
            var runtime = await admin.WaitSettledAsync("uipreload");
            Assert.Equal(("operational", null), (runtime.State, runtime.Error));
            Assert.Equal(["csv"], runtime.Preload);
            // Only csv is left to remove; the choice was reset once the server took the install.
            await Expect(row.GetByLabel("Preload to remove from uipreload").Locator("option")).ToHaveTextAsync(["remove preload…", "csv"]);

            // Adding and removing the same module is refused with the server's reason, and what was asked is kept.
            var add = row.GetByLabel("Preloads to add to uipreload");
            await add.FillAsync("csv");
            await row.GetByLabel("Preload to remove from uipreload").SelectOptionAsync("csv");
            await add.PressAsync("Enter");
            await Expect(ui.Page.Locator("#toast")).ToContainTextAsync("both added (preload) and removed (remove_preload)");
            await Expect(add).ToHaveValueAsync("csv");

            // A preload added alone, without packages, joins the others.
            await add.FillAsync("json");
            await row.GetByLabel("Preload to remove from uipreload").SelectOptionAsync("");
            await add.PressAsync("Enter");
            await Expect(row.Locator("td[data-label=Preload]")).ToHaveTextAsync("csv, json", new() { Timeout = 120_000 });
            await Expect(add).ToHaveValueAsync("");
            runtime = await admin.WaitSettledAsync("uipreload");
            Assert.Equal(("operational", null), (runtime.State, runtime.Error));
            Assert.Equal(["csv", "json"], runtime.Preload);
            ui.AssertNoBrowserErrors();
        }
        finally
        {
            await admin.DeleteAsync("/api/v1/runtimes/uipreload?force=true");
        }
    }
}
