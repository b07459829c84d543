using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Streaming;

public sealed class JobStreamsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(output);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Events_WritesLogEventsWithSeqIdsThenTheResult_WhenTheJobEnded()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import sys\nprint('one')\nprint('two', file=sys.stderr)" }, wait: true);

        var response = await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/events");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, events.Length);
        Assert.Equal(
            $"event: log\ndata: {{\"seq\":1,\"timestamp\":{Timestamp(events[0])},\"stream\":\"stdout\",\"text\":\"one\"}}\nid: 1",
            events[0]);
        Assert.Equal(
            $"event: log\ndata: {{\"seq\":2,\"timestamp\":{Timestamp(events[1])},\"stream\":\"stderr\",\"text\":\"two\"}}\nid: 2",
            events[1]);
        Assert.StartsWith("event: result\ndata: {\"id\":\"" + job.Id + "\",", events[2]);
        Assert.DoesNotContain("\nid:", events[2]);
        Assert.EndsWith("\n\n", body);
        var result = JsonDocument.Parse(events[2]["event: result\ndata: ".Length..]).RootElement;
        Assert.Equal("succeeded", result.GetProperty("status").GetString());
    }

    [Fact]
    public async Task LogsAndStreams_MarkALineTheJobLeftUnfinished()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import sys\nprint('whole')\nsys.stdout.write('no newline')" }, wait: true);

        var page = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs")).JsonAsync();
        var events = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/events")).Content.ReadAsStringAsync();

        var lines = page.GetProperty("lines").EnumerateArray().ToList();
        Assert.Equal(["whole", "no newline"], lines.Select(line => line.GetProperty("text").GetString()));
        // Only the unfinished line carries the field: the common case stays as it was.
        Assert.False(lines[0].TryGetProperty("ended", out _));
        Assert.False(lines[1].GetProperty("ended").GetBoolean());
        Assert.Contains("\"text\":\"no newline\",\"ended\":false}", events);
    }

    [Fact]
    public async Task Events_ResumesAfterLastEventId_WhenTheHeaderIsSent()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "for i in range(5): print(i)" }, wait: true);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/jobs/{job.Id}/events");
        request.Headers.Add("Last-Event-ID", "3");

        var body = await (await _server.Admin.SendAsync(request)).Content.ReadAsStringAsync();
        var bad = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/jobs/{job.Id}/events");
        bad.Headers.Add("Last-Event-ID", "three");
        var badResponse = await _server.Admin.SendAsync(bad);

        var ids = body.Split('\n').Where(l => l.StartsWith("id: ", StringComparison.Ordinal)).Select(l => l[4..]);
        Assert.Equal(["4", "5"], ids);
        Assert.Contains("event: result", body);
        Assert.Equal(HttpStatusCode.BadRequest, badResponse.StatusCode);
    }

    [Fact]
    public async Task Events_FollowsLiveAndReplaysTheStart_WhenSubscribedWhileRunning()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('early', flush=True)\ntime.sleep(1.5)\nprint('late', flush=True)" });
        await Task.Delay(700);

        using var response = await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/events", HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStringAsync();

        var texts = body.Split('\n').Where(l => l.StartsWith("data: {\"seq\"", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l[6..]).RootElement.GetProperty("text").GetString());
        Assert.Equal(["early", "late"], texts);
        Assert.Contains("event: result", body);
    }

    [Fact]
    public async Task Events_SendsKeepAliveCommentsAndTheSameEvents_WhenTheJobIsSilentLongerThanTheInterval()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:StreamKeepAliveSeconds"] = "0.5" });
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('before', flush=True)\ntime.sleep(4)\nprint('after')" });

        using var response = await server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/events", HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStringAsync();

        var blocks = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        // The comment comes while the job sleeps: between its two lines, never inside an event.
        var before = Array.FindIndex(blocks, b => b.Contains("\"text\":\"before\"", StringComparison.Ordinal));
        var after = Array.FindIndex(blocks, b => b.Contains("\"text\":\"after\"", StringComparison.Ordinal));
        Assert.Contains(": keep-alive", blocks[(before + 1)..after]);
        Assert.All(blocks.Where(b => b.Contains(": keep-alive", StringComparison.Ordinal)), b => Assert.Equal(": keep-alive", b));
        var events = blocks.Where(b => b != ": keep-alive").ToArray();
        Assert.Equal(3, events.Length);
        Assert.Equal($"event: log\ndata: {{\"seq\":1,\"timestamp\":{Timestamp(events[0])},\"stream\":\"stdout\",\"text\":\"before\"}}\nid: 1", events[0]);
        Assert.Equal($"event: log\ndata: {{\"seq\":2,\"timestamp\":{Timestamp(events[1])},\"stream\":\"stdout\",\"text\":\"after\"}}\nid: 2", events[1]);
        Assert.StartsWith("event: result\ndata: {\"id\":\"" + job.Id + "\",", events[2]);
        Assert.EndsWith("\n\n", body);
    }

    [Fact]
    public async Task SessionEvents_SendsKeepAliveComments_WhenTheSessionIsSilent()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:StreamKeepAliveSeconds"] = "0.5" });
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\ntime.sleep(3)\nprint('done')" });

        using var response = await server.Admin.GetAsync($"/sse/session/{job.Id}", HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStringAsync();

        Assert.StartsWith(": keep-alive\n\n", body);
        Assert.Contains("\"text\":\"done\"", body);
        Assert.Contains("event: result", body);
    }

    [Fact]
    public async Task WebSocket_SendsLogMessagesThenTheResultAndCloses_WhenConnected()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('a', flush=True)\ntime.sleep(0.5)\nprint('b')" });
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + _server.AdminKey);
        var uri = new Uri(_server.Address, $"/api/v1/jobs/{job.Id}/ws").ToString().Replace("http://", "ws://", StringComparison.Ordinal);

        await socket.ConnectAsync(new Uri(uri), CancellationToken.None);
        var messages = new List<JsonElement>();
        var buffer = new byte[1 << 16];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await socket.ReceiveAsync(buffer, new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
                message.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                break;
            }
            messages.Add(JsonDocument.Parse(message.ToArray()).RootElement.Clone());
        }

        Assert.Equal(["log", "log", "result"], messages.Select(m => m.GetProperty("type").GetString()));
        Assert.Equal("a", messages[0].GetProperty("text").GetString());
        Assert.Equal(2, messages[1].GetProperty("seq").GetInt64());
        Assert.Equal("succeeded", messages[2].GetProperty("job").GetProperty("status").GetString());
        Assert.Equal(["type", "seq", "timestamp", "stream", "text"], messages[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(["type", "job"], messages[2].EnumerateObject().Select(p => p.Name));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Fact]
    public async Task Streams_EndAndTheServerStopsCleanly_WhenItStopsWhileTheJobRuns()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:DrainSeconds"] = "1" });
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('start', flush=True)\ntime.sleep(60)" });
        using var response = await server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/events", HttpCompletionOption.ResponseHeadersRead);
        using var events = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await events.ReadLineAsync() is { } line && !line.Contains("\"start\"", StringComparison.Ordinal))
        {
        }
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + server.AdminKey);
        await socket.ConnectAsync(new Uri(new Uri(server.Address, $"/api/v1/jobs/{job.Id}/ws").ToString().Replace("http://", "ws://", StringComparison.Ordinal)), CancellationToken.None);

        // Kestrel stops first and waits for open requests: streams held open by the running job used to hold the stop
        // until the shutdown timeout, which then failed with "One or more hosted services failed to stop".
        await server.App.StopAsync();

        Assert.DoesNotContain("event: result", await events.ReadToEndAsync());
        var buffer = new byte[1 << 16];
        WebSocketReceiveResult received;
        do
        {
            received = await socket.ReceiveAsync(buffer, new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        }
        while (received.MessageType != WebSocketMessageType.Close);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
    }

    [Theory]
    [InlineData("/api/v1/jobs/{0}/events")]
    [InlineData("/sse/session/{0}")]
    public async Task Events_EndWithAResultSayingTheJobWasDeleted_WhenItIsDeletedWhileItStreams(string path)
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('working', flush=True)\ntime.sleep(60)" });
        using var response = await _server.Admin.GetAsync(string.Format(CultureInfo.InvariantCulture, path, job.Id), HttpCompletionOption.ResponseHeadersRead);
        using var events = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await events.ReadLineAsync(patience.Token) is { } line && !line.Contains("\"working\"", StringComparison.Ordinal))
        {
        }

        Assert.Equal(HttpStatusCode.NoContent, (await _server.Admin.DeleteAsync($"/api/v1/jobs/{job.Id}")).StatusCode);
        var rest = await events.ReadToEndAsync(patience.Token);
        output.WriteLine(rest);

        // The stream ends as every job stream does, with a result: a client reading up to it learns why, where a
        // stream that just stopped sent it to resume only to be answered 404.
        Assert.Contains("event: result\ndata: ", rest);
        var result = JsonDocument.Parse(rest.Split("event: result\ndata: ")[1].Split('\n')[0]).RootElement;
        Assert.Equal(job.Id, result.GetProperty("id").GetString());
        Assert.Equal("cancelled", result.GetProperty("status").GetString());
        Assert.Equal("deleted: the job was deleted while its stream was open", result.GetProperty("error").GetString());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("exit_code").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}")).StatusCode);
    }

    [Fact]
    public async Task WebSocket_EndsWithAResultSayingTheJobWasDeletedAndClosesNormally_WhenItIsDeletedWhileItStreams()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('working', flush=True)\ntime.sleep(60)" });
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + _server.AdminKey);
        await socket.ConnectAsync(new Uri(new Uri(_server.Address, $"/api/v1/jobs/{job.Id}/ws").ToString().Replace("http://", "ws://", StringComparison.Ordinal)), CancellationToken.None);
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var buffer = new byte[1 << 16];

        async Task<JsonElement?> ReceiveAsync()
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await socket.ReceiveAsync(buffer, patience.Token);
                message.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);
            return received.MessageType == WebSocketMessageType.Close ? null : JsonDocument.Parse(message.ToArray()).RootElement.Clone();
        }

        Assert.Equal("working", (await ReceiveAsync())?.GetProperty("text").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await _server.Admin.DeleteAsync($"/api/v1/jobs/{job.Id}")).StatusCode);
        var last = await ReceiveAsync();
        var close = await ReceiveAsync();

        Assert.NotNull(last);
        Assert.Equal("result", last.Value.GetProperty("type").GetString());
        var result = last.Value.GetProperty("job");
        Assert.Equal(job.Id, result.GetProperty("id").GetString());
        Assert.Equal("cancelled", result.GetProperty("status").GetString());
        Assert.Equal("deleted: the job was deleted while its stream was open", result.GetProperty("error").GetString());
        Assert.Null(close);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal("job deleted", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task WebSocket_Returns400_WhenNotAnUpgrade()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });

        var response = await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/ws");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task EventsAndWebSocket_Return429WithRetryAfter_WhenTheKeyHoldsTooManyStreams()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:NoWorker"] = "true", ["Runbox:RateLimit:StreamsPerKey"] = "1" });
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });

        using var first = await server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/events", HttpCompletionOption.ResponseHeadersRead);
        var second = await server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/events", HttpCompletionOption.ResponseHeadersRead);
        var (other, _) = await server.UserAsync("other");
        var otherJob = await other.SubmitOkAsync(new JobSubmission { Script = "print(1)" });
        using var third = await other.GetAsync($"/api/v1/jobs/{otherJob.Id}/events", HttpCompletionOption.ResponseHeadersRead);

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {server.AdminKey}");
        socket.Options.CollectHttpResponseDetails = true;
        var refused = await Assert.ThrowsAsync<WebSocketException>(() =>
            socket.ConnectAsync(new Uri(new Uri(server.Address, $"/api/v1/jobs/{job.Id}/ws").ToString().Replace("http://", "ws://", StringComparison.Ordinal)), CancellationToken.None));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal((HttpStatusCode)429, second.StatusCode);
        // Clients wait it out as they do the rate limit's 429 (the CLI does).
        Assert.Equal(TimeSpan.FromSeconds(5), second.Headers.RetryAfter?.Delta);
        Assert.Contains("at most 1 live streams", (await second.JsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal((HttpStatusCode)429, socket.HttpStatusCode);
        Assert.Equal(["5"], socket.HttpResponseHeaders!["Retry-After"]);
    }

    private static string Timestamp(string sseEvent)
    {
        var data = sseEvent.Split('\n').Single(l => l.StartsWith("data: ", StringComparison.Ordinal))[6..];
        return JsonDocument.Parse(data).RootElement.GetProperty("timestamp").GetRawText();
    }
}
