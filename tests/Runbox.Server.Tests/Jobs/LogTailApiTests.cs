using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Runbox.Execution.Jobs;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Storage;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Jobs;

/// <summary>
/// <c>GET /api/v1/jobs/{id}/logs?tail=N</c>: a job's last lines without paging through the rest, on a server without a
/// worker, the lines put in the store as a worker would.
/// </summary>
public sealed class LogTailApiTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:NoWorker"] = "true" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private IJobStore Store => _server.App.Services.GetRequiredService<IJobStore>();

    private static LogLine Line(long seq, string text, LogStream stream = LogStream.Stdout, bool ended = true) =>
        new(seq, At, stream, text) { Ended = ended };

    [Fact]
    public async Task Tail_ReturnsTheLastLinesInOrder_WithTheSeqToFollowFrom_AndSaysEarlierLinesWereLeftOut()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });
        await Store.AppendLogsAsync(job.Id, [.. Enumerable.Range(1, 250).Select(seq => Line(seq, $"line {seq}"))]);

        var response = await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?tail=100");
        var tail = await response.ReadAsync<LogPageResponse>();

        Assert.Equal(Enumerable.Range(151, 100).Select(seq => $"line {seq}"), tail.Lines.Select(line => line.Text));
        Assert.Equal(250, tail.NextSeq);
        Assert.True(tail.MoreBefore);
        Assert.False(tail.Done);
        Assert.Equal("queued", tail.Status);
        await Store.AppendLogsAsync(job.Id, [Line(251, "after the tail")]);
        var next = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?after_seq={tail.NextSeq}")).ReadAsync<LogPageResponse>();
        Assert.Equal(["after the tail"], next.Lines.Select(line => line.Text));
        // A forward page says nothing of lines before it: the field is only on a tail.
        Assert.DoesNotContain("more_before", await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Tail_ReturnsEveryLine_AndDone_WhenTheEndedJobHasFewerLines()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });
        await Store.AppendLogsAsync(job.Id, [Line(1, "one"), Line(2, "two", LogStream.Stderr)]);
        await _server.Admin.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null);

        var tail = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?tail=10000")).ReadAsync<LogPageResponse>();

        Assert.Equal(["one", "two"], tail.Lines.Select(line => line.Text));
        Assert.Equal(["stdout", "stderr"], tail.Lines.Select(line => line.Stream));
        Assert.False(tail.MoreBefore);
        Assert.True(tail.Done);
        Assert.Equal(2, tail.NextSeq);
    }

    [Fact]
    public async Task Tail_StartsAtALineBoundary_WhenItsFirstPiecesGoOnWithALineBegunBeforeIt()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });
        // A stdout line in three pieces with a stderr line between them, then a whole line; the last 4 start mid-line.
        await Store.AppendLogsAsync(job.Id,
        [
            Line(1, "first"), Line(2, "long-1 ", ended: false), Line(3, "warning", LogStream.Stderr),
            Line(4, "long-2 ", ended: false), Line(5, "long-3"), Line(6, "last"),
        ]);

        var tail = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?tail=4")).ReadAsync<LogPageResponse>();

        // The stderr line is whole and stays; the stdout line's last pieces are not shown without their start.
        Assert.Equal(["warning", "last"], tail.Lines.Select(line => line.Text));
        Assert.True(tail.MoreBefore);
        Assert.Equal(6, tail.NextSeq);
        var whole = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?tail=5")).ReadAsync<LogPageResponse>();
        Assert.Equal(["long-1 ", "warning", "long-2 ", "long-3", "last"], whole.Lines.Select(line => line.Text));
        Assert.Equal([false, null, false, null, null], whole.Lines.Select(line => line.Ended));
    }

    [Fact]
    public async Task Tail_NextSeqIsTheLastPieceRead_WhenEveryPieceOfTheTailGoesOnWithALineBegunBeforeIt()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });
        // A long line still being written, in pieces: a tail of 2 holds only its continuation, which is left out.
        await Store.AppendLogsAsync(job.Id,
            [Line(1, "before"), Line(2, "long-1 ", ended: false), Line(3, "long-2 ", ended: false), Line(4, "long-3 ", ended: false)]);

        var tail = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?tail=2")).ReadAsync<LogPageResponse>();

        Assert.Empty(tail.Lines);
        Assert.True(tail.MoreBefore);
        // Following from next_seq brings what comes after the tail, not the output from the start (it was 0).
        Assert.Equal(4, tail.NextSeq);
        await Store.AppendLogsAsync(job.Id, [Line(5, "long-4"), Line(6, "next")]);
        var next = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?after_seq={tail.NextSeq}")).ReadAsync<LogPageResponse>();
        Assert.Equal(["long-4", "next"], next.Lines.Select(line => line.Text));
    }

    [Theory]
    [InlineData("tail=0", "must be between 1 and 10000.")]
    [InlineData("tail=10001", "must be between 1 and 10000.")]
    [InlineData("tail=-5", "must be between 1 and 10000.")]
    [InlineData("tail=abc", "whole number")]
    [InlineData("tail=10&after_seq=5", "cannot be combined with after_seq")]
    [InlineData("tail=10&limit=5", "cannot be combined with limit")]
    public async Task Tail_Returns400NamingTail_WhenItsValueOrCompanyIsWrong(string query, string rule)
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });

        var response = await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(rule, (await response.JsonAsync()).GetProperty("errors").GetProperty("tail")[0].GetString());
    }

    [Fact]
    public async Task Tail_Returns404_ForAnotherOwnersJob_WithoutItsLines()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });
        await Store.AppendLogsAsync(job.Id, [Line(1, "the admin's secret")]);
        var (user, _) = await _server.UserAsync("tail-user");
        using var _u = user;

        var response = await user.GetAsync($"/api/v1/jobs/{job.Id}/logs?tail=10");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("secret", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Tail_Returns404_ForAJobTheKeyCannotSee()
    {
        var response = await _server.Admin.GetAsync("/api/v1/jobs/01a23aca58517ad2838101ef30a41222/logs?tail=10");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
