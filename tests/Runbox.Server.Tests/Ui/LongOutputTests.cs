using System.Collections.Concurrent;
using Microsoft.Playwright;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Runbox.Server.Tests.Ui;

/// <summary>
/// The job page of a job printing more than a page should hold: it keeps the last lines (10,000) with a note, cuts a
/// line of megabytes, and offers the whole output as a download. It used to keep every line: a 3-million-line job
/// grew the page past a million elements and froze it for seconds at a time.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class LongOutputTests(BrowserFixture fixture, ITestOutputHelper output)
{
    private const int ShownLines = 10_000;

    [SkippableFact]
    public async Task JobPage_KeepsTheLastLines_SaysHowManyItLeftOut_AndDownloadsAllOfStdout()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        const int total = 30_000;
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            // stdout and stderr are read through two pipes: the pause keeps the stderr line last.
            Script = $"import sys, time\nsys.stdout.write(''.join(f'line {{i}}\\n' for i in range({total})))\nsys.stdout.flush()\n"
                + "time.sleep(0.5)\nprint('oops', file=sys.stderr)",
        }, wait: true);
        Assert.Equal("succeeded", job.Status);

        await ui.GotoAsync($"#/jobs/{job.Id}");

        var note = ui.Page.Locator("#output-trimmed");
        await Expect(note).ToContainTextAsync("The output's earlier lines are not shown here (the page keeps the last 10,000)");
        var lines = ui.Page.Locator("#output > .line");
        await Expect(lines.Last).ToHaveTextAsync("oops");
        await Expect(lines).ToHaveCountAsync(ShownLines);
        await Expect(lines.Nth(ShownLines - 2)).ToHaveTextAsync($"line {total - 1}");
        // The end is in view, as it is for a short output.
        Assert.True(await ui.Page.Locator("#output").EvaluateAsync<bool>("t => t.scrollTop + t.clientHeight >= t.scrollHeight - 8"));
        await ui.ScreenshotAsync("job-long-output");

        var download = await ui.Page.RunAndWaitForDownloadAsync(() => ui.Page.GetByRole(AriaRole.Button, new() { Name = "Download stdout" }).ClickAsync());
        Assert.Equal($"{job.Id}.stdout.txt", download.SuggestedFilename);
        var saved = await File.ReadAllLinesAsync((await download.PathAsync())!);
        Assert.Equal(total, saved.Length);
        Assert.Equal(["line 0", $"line {total - 1}"], [saved[0], saved[^1]]);
        var stderr = await ui.Page.RunAndWaitForDownloadAsync(() => ui.Page.GetByRole(AriaRole.Button, new() { Name = "Download stderr" }).ClickAsync());
        Assert.Equal("oops\n", await File.ReadAllTextAsync((await stderr.PathAsync())!));
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task EndedJobPage_FetchesOnlyItsLastLines_NotTheWholeOutput()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        const int total = 200_000;
        // 6 MB of output: the page used to receive it twice, in the job's answer and replayed whole over /events.
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = $"import sys\nsys.stdout.write(''.join(f'line {{i:06d}} {{\"x\" * 16}}\\n' for i in range({total})))",
            Limits = new JobLimitsBody { OutputBytes = 8_000_000 },
        }, wait: true);
        Assert.Equal("succeeded", job.Status);
        var requests = new ConcurrentQueue<(string Path, Task<RequestSizesResult> Sizes)>();
        ui.Page.RequestFinished += (_, request) =>
        {
            if (request.Url.Contains(job.Id, StringComparison.Ordinal))
            {
                requests.Enqueue((new Uri(request.Url).PathAndQuery, request.SizesAsync()));
            }
        };

        await ui.GotoAsync($"#/jobs/{job.Id}");

        var lines = ui.Page.Locator("#output > .line");
        await Expect(lines.Last).ToHaveTextAsync($"line {total - 1:D6} {new string('x', 16)}");
        await Expect(lines).ToHaveCountAsync(ShownLines);
        await Expect(lines.First).ToHaveTextAsync($"line {total - ShownLines:D6} {new string('x', 16)}");
        await Expect(ui.Page.Locator("#job-status")).ToContainTextAsync("succeeded");
        await ui.Page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        var received = 0L;
        foreach (var (path, sizes) in requests)
        {
            var size = (await sizes).ResponseBodySize;
            output.WriteLine($"{path}: {size} bytes");
            received += size;
        }
        Assert.DoesNotContain(requests, request => request.Path.Contains("/events", StringComparison.Ordinal));
        // The last 10,000 lines as JSON are about 1.2 MB of the 6 MB.
        Assert.InRange(received, 1, 2_000_000);
        await Expect(ui.Page.Locator("#output-trimmed")).ToContainTextAsync("The output's earlier lines are not shown here");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task RunningJobPage_FetchesTheLastLines_ThenFollowsTheStreamFromThem()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        const int total = 30_000;
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = $"import sys, time\nprint('\\n'.join(f'line {{i}}' for i in range({total})), flush=True)\ntime.sleep(3)\nprint('later', flush=True)\ntime.sleep(60)",
            Limits = new JobLimitsBody { TimeoutSeconds = 90 },
        });
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await (await fixture.Server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?tail=1")).ReadAsync<LogPageResponse>()).NextSeq < total
            && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        var resumedFrom = new ConcurrentQueue<string?>();
        ui.Page.Request += (_, request) =>
        {
            if (request.Url.Contains($"/{job.Id}/events", StringComparison.Ordinal))
            {
                resumedFrom.Enqueue(request.Headers.GetValueOrDefault("last-event-id"));
            }
        };

        await ui.GotoAsync($"#/jobs/{job.Id}");

        var lines = ui.Page.Locator("#output > .line");
        await Expect(lines.Last).ToHaveTextAsync("later");
        await Expect(lines).ToHaveCountAsync(ShownLines);
        await Expect(lines.First).ToHaveTextAsync($"line {total - ShownLines + 1}");
        await Expect(ui.Page.Locator("#output-trimmed")).ToContainTextAsync("The output's earlier lines are not shown here");
        // The stream starts after the tail's last line: the 30,000 lines before it are not sent again.
        var from = Assert.Single(resumedFrom);
        Assert.True(long.TryParse(from, out var seq) && seq >= total, $"the stream should start after the tail, not at {from ?? "the start"}");
        await fixture.Server.Admin.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_CutsALineOfMegabytes_WithANote_AndKeepsTheLinesAfterIt()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "import sys\nsys.stdout.write('y' * 3_000_000 + '\\n')\nprint('after')",
            Limits = new JobLimitsBody { OutputBytes = 4_000_000 },
        }, wait: true);
        Assert.Equal("succeeded", job.Status);

        await ui.GotoAsync($"#/jobs/{job.Id}");

        var lines = ui.Page.Locator("#output > .line");
        await Expect(lines.Last).ToHaveTextAsync("after");
        await Expect(lines).ToHaveCountAsync(2);
        await Expect(lines.First.Locator(".cut")).ToHaveTextAsync(" … the rest of this line is not shown here: download stdout for all of it");
        // 1 MiB of the line is on the page, not 3 MB.
        var shown = await lines.First.EvaluateAsync<int>("l => l.textContent.length - l.querySelector('.cut').textContent.length");
        Assert.InRange(shown, 1_048_576, 1_048_576 + 64 * 1024);
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_ShowsTheTruncatedMarker_InTheViewAtTheEndOfTheOutput()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "for i in range(50000):\n    print(f'line {i}')",
            Limits = new JobLimitsBody { OutputBytes = 20_000 },
        }, wait: true);
        Assert.True(job.StdoutTruncated, "the server should report stdout truncated");

        await ui.GotoAsync($"#/jobs/{job.Id}");

        var marker = ui.Page.Locator("#output [data-truncated]");
        await Expect(marker).ToContainTextAsync("Output truncated: stdout reached the output limit");
        // It was appended below the last line after the view had scrolled to it, so it stayed out of sight.
        var inView = await marker.EvaluateAsync<bool>(
            "m => { const t = m.parentElement.getBoundingClientRect(), r = m.getBoundingClientRect(); return r.top >= t.top && r.bottom <= t.bottom; }");
        Assert.True(inView, "the truncated marker should be in the output's view");
        ui.AssertNoBrowserErrors();
    }

    [SkippableFact]
    public async Task JobPage_KeepsTheLinesTheUserScrolledUpTo_WhileMoreOutputComes_UntilTheyFollowAgain()
    {
        await using var ui = await UiSession.OpenAsync(fixture, output, fixture.Server.AdminKey);
        // 200 lines, a pause for the user to scroll up, then 15,000 more than the page keeps; it stays running after.
        var job = await fixture.Server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "import sys, time\nprint('\\n'.join(f'line {i}' for i in range(200)), flush=True)\ntime.sleep(6)\n"
                + "print('\\n'.join(f'line {i}' for i in range(200, 15200)), flush=True)\ntime.sleep(60)",
            Limits = new JobLimitsBody { TimeoutSeconds = 90 },
        });

        await ui.GotoAsync($"#/jobs/{job.Id}");

        var lines = ui.Page.Locator("#output > .line");
        await Expect(lines).ToHaveCountAsync(200);
        await ui.Page.Locator("#output").EvaluateAsync("t => { t.scrollTop = 0; }");
        var follow = ui.Page.GetByRole(AriaRole.Button, new() { Name = "follow the output" });
        await Expect(follow).ToBeVisibleAsync();
        // The lines being read stay where they were (lines may still go below them, up to what the page keeps); the view
        // used to drop them and slide on by itself.
        await Expect(lines.First).ToHaveTextAsync("line 0");
        Assert.Equal(0, await ui.Page.Locator("#output").EvaluateAsync<int>("t => t.scrollTop"));

        await follow.ClickAsync();
        await Expect(lines.Last).ToHaveTextAsync("line 15199");
        await Expect(lines).ToHaveCountAsync(ShownLines);
        await Expect(lines.First).ToHaveTextAsync("line 5200");
        await Expect(ui.Page.Locator("#output-trimmed")).ToContainTextAsync("The first 5,200 stdout lines are not shown here");
        await Expect(follow).ToBeHiddenAsync();
        await fixture.Server.Admin.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null);
        ui.AssertNoBrowserErrors();
    }
}
