using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Ui;

/// <summary>
/// One browser context and page for a test, signed in with a key through sessionStorage (one test signs in through
/// the form). Browser console errors, CSP violations among them, are collected and fail the test at the end.
/// </summary>
public sealed class UiSession : IAsyncDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly List<string> _errors = [];

    private UiSession(IBrowserContext context, IPage page, ITestOutputHelper output, Uri address)
    {
        Context = context;
        Page = page;
        _output = output;
        Address = address;
        page.Console += (_, message) =>
        {
            output.WriteLine($"console.{message.Type}: {message.Text}");
            if (message.Type == "error" && !message.Text.Contains("Failed to load resource", StringComparison.Ordinal))
            {
                _errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) =>
        {
            output.WriteLine($"page error: {error}");
            _errors.Add(error);
        };
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public Uri Address { get; }

    public static async Task<UiSession> OpenAsync(BrowserFixture fixture, ITestOutputHelper output, string? key, Uri? address = null)
    {
        fixture.RequireBrowser();
        address ??= fixture.Server.Address;
        var context = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = address.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 860 },
            ColorScheme = ColorScheme.Light,
        });
        // Generous: CI machines are shared, and a first page load also compiles CodeMirror.
        context.SetDefaultTimeout(90_000); // generous: the whole suite shares two cores; tests assert behaviour, not speed
        context.SetDefaultNavigationTimeout(90_000);
        if (key is not null)
        {
            await context.AddInitScriptAsync($"sessionStorage.setItem('runbox.key', {System.Text.Json.JsonSerializer.Serialize(key)});");
        }
        var page = await context.NewPageAsync();
        return new UiSession(context, page, output, address);
    }

    public Task GotoAsync(string hash) => Page.GotoAsync("/" + hash);

    /// <summary>Saves the page as it looks now in light and in dark, named for what it shows.</summary>
    public async Task ScreenshotAsync(string name)
    {
        foreach (var scheme in new[] { ColorScheme.Light, ColorScheme.Dark })
        {
            await Page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = scheme });
            var path = Path.Combine(BrowserFixture.ScreenshotFolder, $"{name}-{(scheme == ColorScheme.Dark ? "dark" : "light")}.png");
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
            _output.WriteLine($"screenshot: {path}");
        }
        await Page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Light });
    }

    public void AssertNoBrowserErrors() => Assert.True(_errors.Count == 0, "browser errors:\n" + string.Join("\n", _errors));

    public async ValueTask DisposeAsync() => await Context.DisposeAsync();
}
