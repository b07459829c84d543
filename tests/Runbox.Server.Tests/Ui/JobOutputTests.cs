using System.Net.Http.Json;
using Microsoft.Playwright;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Runbox.Server.Tests.Ui;

/// <summary>The job page's output view: lines as the job wrote them, whatever pieces the server sent them in.</summary>
[Collection(BrowserCollection.Name)]
public sealed class JobOutputTests(BrowserFixture fixture, ITestOutputHelper output)
{
    private const int LineCap = 64 * 1024;

    /// <summary>
    /// Pieces the server sends with "ended": false: a line at its 64 KiB cap (continued after a stderr line), an escape
    /// sequence cut by the cap, and a last line without a newline. The pauses (the second argument) keep the pieces
    /// apart and in this order; the first argument is a wait before the first one.
    /// </summary>
    private static readonly string PiecesScript = string.Join('\n',
        "import sys, time",
        "def write(stream, text):",
        "    stream.write(text); stream.flush(); time.sleep(float(sys.argv[2]))",
        "time.sleep(float(sys.argv[1]))",
        $"write(sys.stdout, 'x' * {LineCap})",
        "write(sys.stderr, 'err line\\n')",
        "write(sys.stdout, 'tail\\n')",
        $"write(sys.stderr, 'y' * {LineCap - 3} + '\\x1b[3')",
        "write(sys.stderr, '1mred\\x1b[0m\\n')",
        "write(sys.stdout, 'no newline at the end')");

    private static readonly string[] Expected =
    [
        new string('x', LineCap) + "tail",
        "err line",
        new string('y', LineCap - 3) + "red",
        "no newline at the end",
    ];

    [SkippableFact]
    public async Task JobPage_ShowsALineSentInPiecesAsOneLine_WhenTheJobHadEndedBeforeThePageOpened()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = PiecesScript, Args = ["0", "0.5"] }, wait: true);
        Assert.Equal("succeeded", job.Status);
        await AssertPiecesSentAsync(job.Id);

        await ui.GotoAsync($"#/jobs/{job.Id}");

        await ExpectJoinedAsync(ui.Page);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_ShowsALineSentInPiecesAsOneLine_WhenTheyArriveLive()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission { Script = PiecesScript, Args = ["5", "1.5"] });

        await ui.GotoAsync($"#/jobs/{job.Id}");

        // The first piece shows as it comes, before the rest of its line. Polled often: an expectation's polls are a
        // second apart by then, and the piece is alone for 1.5 s.
        await ui.Page.WaitForFunctionAsync(
            $"() => document.querySelector('#output > .line')?.textContent === 'x'.repeat({LineCap})",
            null, new() { PollingInterval = 50, Timeout = 60_000 });
        await Expect(ui.Page.Locator("#job-status .badge")).ToHaveAttributeAsync("data-status", "running");
        await ExpectJoinedAsync(ui.Page);
        await Expect(ui.Page.Locator("#job-status .badge")).ToHaveAttributeAsync("data-status", "succeeded");
        await AssertPiecesSentAsync(job.Id);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_ShowsNoControlSequences_WhenTheJobHidesTheCursorOrSetsTerminalModes()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        // Progress bars hide the cursor (ESC[?25l); ESC[0 q sets its shape. Neither is text, nor a colour.
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "print('\\x1b[?25l\\x1b[0 q\\x1b[1;31mbold red\\x1b[0m plain\\x1b[?25h')",
        }, wait: true);

        await ui.GotoAsync($"#/jobs/{job.Id}");

        var line = ui.Page.Locator("#output > .line.stdout");
        await Expect(line).ToHaveTextAsync("bold red plain");
        await Expect(line.Locator(".fg-1.ansi-bold")).ToHaveTextAsync("bold red");
        await Expect(line.Locator(".fg-1", new() { HasText = "plain" })).ToHaveCountAsync(0);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_ShowsNoEscapeSequences_WhenTheJobResetsColoursWithTputOrSavesTheCursor()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        // `tput sgr0` writes ESC ( B ESC [ m; ESC 7 / ESC 8 save and restore the cursor; ESC = / ESC > set keypad modes.
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Language = "bash",
            Script = "printf '\\033[31mred\\033(B\\033[m plain\\n'; printf '\\0337saved\\0338 \\033=keypad\\033>\\n'",
        }, wait: true);

        await ui.GotoAsync($"#/jobs/{job.Id}");

        // They showed as an ESC symbol followed by "(B", "7", "8", "=", ">".
        var lines = ui.Page.Locator("#output > .line.stdout");
        await Expect(lines).ToHaveTextAsync(["red plain", "saved keypad"]);
        await Expect(lines.First.Locator(".fg-1")).ToHaveTextAsync("red");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_StartsALineOverAtACarriageReturn_WhenTheJobDrawsAProgressBar()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        // The first line's CR comes in a second piece (after the 64 KiB cap): what the first piece showed goes too.
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = string.Join('\n',
                "import sys",
                $"sys.stdout.write('x' * {LineCap} + '\\rprogress 100%\\n')",
                "print('\\rstep 1\\rstep 2')",
                "sys.stdout.write('crlf line\\r\\n')",
                "print('bell\\x07 and\\x08 done')",
                "print('\\x1b[32mold\\rgreen after the return\\x1b[0m')"),
        }, wait: true);

        await ui.GotoAsync($"#/jobs/{job.Id}");

        // A terminal shows these; the page showed every step side by side, and the bell and backspace as symbols.
        var lines = ui.Page.Locator("#output > .line.stdout");
        await Expect(lines).ToHaveTextAsync(["progress 100%", "step 2", "crlf line", "bell and done", "green after the return"]);
        await Expect(lines.Last.Locator(".fg-2")).ToHaveTextAsync("green after the return");
        ui.AssertNoBrowserErrors();
    }

    /// <summary>The test means nothing unless the server really sent pieces.</summary>
    private async Task AssertPiecesSentAsync(string id)
    {
        var logs = await fixture.Server.Admin.GetFromJsonAsync<LogPageResponse>($"/api/v1/jobs/{id}/logs?limit=100", Runbox.Server.Http.RunboxJson.Options);
        Assert.Equal(
            ["stdout False", "stderr True", "stdout True", "stderr False", "stderr True", "stdout False"],
            logs!.Lines.Select(l => $"{l.Stream} {l.Ended != false}"));
    }

    private static async Task ExpectJoinedAsync(IPage page)
    {
        var lines = page.Locator("#output > .line");
        await Expect(lines).ToHaveCountAsync(Expected.Length, new() { Timeout = 60_000 });
        await Expect(lines.Last).ToHaveTextAsync(Expected[^1]);
        Assert.Equal(Expected, await lines.AllTextContentsAsync());
        Assert.Equal(["stdout", "stderr", "stderr", "stdout"], await lines.EvaluateAllAsync<string[]>("ls => ls.map(l => l.classList[1])"));
        // The escape sequence the cap cut in two still coloured the text after it, and left no stray characters.
        await Expect(lines.Nth(2).Locator(".fg-1")).ToHaveTextAsync("red");
        // Copying the output (a selection of it) gives the text as written: one newline per line, none inside one.
        var copied = await page.EvaluateAsync<string>(
            "() => { const s = getSelection(); s.selectAllChildren(document.getElementById('output')); return s.toString(); }");
        Assert.Equal(string.Join('\n', Expected), copied.TrimEnd('\n'));
    }
}
