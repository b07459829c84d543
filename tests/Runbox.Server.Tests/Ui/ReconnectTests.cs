using System.Text.RegularExpressions;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Runbox.Server.Tests.Ui;

/// <summary>The page outlives a server restart: it shows the outage, then comes back and keeps updating.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ReconnectTests(BrowserFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task JobsPage_ReconnectsAndUpdates_WhenTheServerRestarts()
    {
        fixture.RequireBrowser();
        using var data = new TempFolder();
        var first = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:DataDirectory"] = data.Path });
        var address = first.Address;
        var key = first.AdminKey;
        await using var ui = await UiSession.OpenAsync(fixture, output, key, address);
        await ui.GotoAsync("#/jobs");
        await Expect(ui.Page.Locator("#connection")).ToHaveClassAsync(new Regex("online"));

        await first.DisposeAsync();
        await Expect(ui.Page.Locator("#connection")).ToHaveClassAsync(new Regex("offline"));
        await Expect(ui.Page.Locator("#connection")).ToContainTextAsync("Disconnected");

        // The same port and data folder: the key in the tab's session is still good.
        await using var second = await RunningServer.StartAsync(output, new Dictionary<string, string?>
        {
            ["Runbox:DataDirectory"] = data.Path,
            ["urls"] = address.ToString().TrimEnd('/'),
        });
        await Expect(ui.Page.Locator("#connection")).ToHaveClassAsync(new Regex("online"), new() { Timeout = 30_000 });
        var job = await second.Admin.SubmitOkAsync(new JobSubmission { Script = "print('after restart')" }, wait: true);
        await Expect(ui.Page.Locator($"tr[data-job='{job.Id}']")).ToBeVisibleAsync();
    }
}
