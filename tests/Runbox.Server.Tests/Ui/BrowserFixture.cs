using Microsoft.Playwright;
using Runbox.Server.Tests.Infrastructure;

namespace Runbox.Server.Tests.Ui;

/// <summary>
/// One server and one headless Debian Chromium shared by the UI tests. Chromium is the system's (<c>.ci/run</c>
/// installs the <c>chromium</c> package); Playwright never downloads a browser here. Where it is missing the tests
/// skip, except under CI=true, where they fail.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic",
    ];

    private readonly TempFolder _wheels = new();
    private IPlaywright? _playwright;

    public IBrowser? Browser { get; private set; }

    public RunningServer Server { get; private set; } = null!;

    /// <summary>Why the tests cannot run here, or null.</summary>
    public string? Missing { get; private set; }

    public static string ScreenshotFolder { get; } = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    public async Task InitializeAsync()
    {
        // Packages come only from a local folder holding two tiny wheels (one breaks print()): installs work without a network.
        TinyWheel.Write(_wheels.Path, "uitiny", "0.1");
        Runtimes.RuntimeServer.WriteBrokenPrintWheel(_wheels.Path);
        Server = await RunningServer.StartAsync(null, new Dictionary<string, string?>
        {
            ["Runbox:Workers"] = "3",
            ["Runbox:Packages:FindLinks"] = _wheels.Path,
            ["Runbox:Packages:Offline"] = "true",
        });
        if (!File.Exists(ChromiumPath))
        {
            Missing = $"Chromium is not installed at {ChromiumPath} (apt-get install chromium).";
            return;
        }
        // Playwright's .NET driver is a Node.js program; the package ships the node binary beside the test assembly.
        _playwright = await Playwright.CreateAsync();
        // Expectations wait for what a user would see; 5 s (the default) is short on a busy shared machine.
        Assertions.SetDefaultExpectTimeout(45_000);
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
        });
        Directory.CreateDirectory(ScreenshotFolder);
    }

    /// <summary>Skips the calling test where Chromium is missing; under CI=true that is a failure instead.</summary>
    public void RequireBrowser()
    {
        if (Missing is null)
        {
            return;
        }
        Assert.False(Environment.GetEnvironmentVariable("CI") == "true", Missing);
        Skip.If(true, Missing);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        _playwright?.Dispose();
        await Server.DisposeAsync();
        _wheels.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser";
}
