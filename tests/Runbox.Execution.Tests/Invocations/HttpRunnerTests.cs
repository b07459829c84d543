using Runbox.Execution.Engine;
using Runbox.Execution.Invocations;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Invocations;

public sealed class HttpRunnerTests(RunServer server) : IClassFixture<RunServer>, IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private ExecutorRuntime _runtime = null!;

    public Task InitializeAsync()
    {
        // The engine is never reached by HTTP invocations; the stub-or-real JobEngine is just the default wiring.
        _runtime = new ExecutorRuntime(new JobEngine(new EngineOptions()));
        _runtime.Register(RuntimeKinds.Http, new HttpRunner());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _runtime.DisposeAsync();
        _directory.Dispose();
    }

    private RuntimeInvocation Invocation(Dictionary<string, string> metadata, int? timeoutSeconds = 10) => new()
    {
        InvocationId = "http-1",
        RuntimeName = "remote",
        RuntimeKind = RuntimeKinds.Http,
        ArtifactDirectory = _directory.Combine("artifacts"),
        TimeoutSeconds = timeoutSeconds,
        Metadata = metadata,
    };

    [Fact]
    public async Task RunAsync_Succeeds_WhenServerAnswers2xx()
    {
        var lines = new List<LogLine>();

        var result = await _runtime.RunAsync(Invocation(new() { ["http.url"] = server.Url("/text") }), onLogLine: lines.Add);

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.Null(result.ErrorSummary);
        Assert.Equal("200", result.Metadata["http.status"]);
        Assert.Equal("hello\nworld\n", await File.ReadAllTextAsync(result.StdoutPath!));
        Assert.Equal(_directory.Combine("artifacts", "stdout.log"), result.StdoutPath);
        Assert.Equal(["hello", "world"], lines.Select(line => line.Text));
        Assert.All(lines, line => Assert.Equal(LogStream.Stdout, line.Stream));
    }

    [Fact]
    public async Task RunAsync_KeepsBodyBytesExactly_WhenBodyIsNotText()
    {
        var result = await _runtime.RunAsync(Invocation(new() { ["http.url"] = server.Url("/bytes") }));

        Assert.Equal(RunServer.BinaryBody, await File.ReadAllBytesAsync(result.StdoutPath!));
    }

    [Fact]
    public async Task RunAsync_SendsMethodBodyAndHeaders_FromMetadata()
    {
        var result = await _runtime.RunAsync(Invocation(new()
        {
            ["http.url"] = server.Url("/echo"),
            ["http.method"] = "put",
            ["http.body"] = "{\"x\":1}",
            ["http.header.X-Test"] = "from-metadata",
            ["http.header.Content-Type"] = "text/plain",
        }));

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        var echoed = await File.ReadAllTextAsync(result.StdoutPath!);
        Assert.Contains("method=PUT\n", echoed);
        Assert.Contains("x-test=from-metadata\n", echoed);
        Assert.Contains("content-type=text/plain\n", echoed);
        Assert.Contains("body={\"x\":1}\n", echoed);
    }

    [Fact]
    public async Task RunAsync_SendsInputPayloadAsBody_WhenNoBodyInMetadata()
    {
        var payload = _directory.Combine("payload.json");
        await File.WriteAllTextAsync(payload, "{\"from\":\"file\"}");

        var result = await _runtime.RunAsync(new RuntimeInvocation
        {
            InvocationId = "http-payload",
            RuntimeName = "remote",
            RuntimeKind = RuntimeKinds.Http,
            InputPayloadPath = payload,
            Metadata = new() { ["http.url"] = server.Url("/echo"), ["http.method"] = "POST" },
        });

        var echoed = await File.ReadAllTextAsync(result.StdoutPath!);
        Assert.Contains("content-type=application/json\n", echoed);
        Assert.Contains("body={\"from\":\"file\"}\n", echoed);
    }

    [Fact]
    public async Task RunAsync_FailsWithStatusAsExitCode_WhenServerAnswersError()
    {
        var result = await _runtime.RunAsync(Invocation(new() { ["http.url"] = server.Url("/status/503") }));

        Assert.Equal(RuntimeStatus.Failed, result.Status);
        Assert.Equal(503, result.ExitCode);
        Assert.Contains("503", result.ErrorSummary);
        Assert.Equal("status 503", await File.ReadAllTextAsync(result.StdoutPath!));
    }

    [Fact]
    public async Task RunAsync_TimesOut_WhenServerOutlastsDeadline()
    {
        var result = await _runtime.RunAsync(Invocation(new() { ["http.url"] = server.Url("/slow") }, timeoutSeconds: 1));

        Assert.Equal(RuntimeStatus.TimedOut, result.Status);
        Assert.Null(result.ExitCode);
        Assert.Contains("Timed out", result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_Cancels_WhenCallerCancels()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var result = await _runtime.RunAsync(Invocation(new() { ["http.url"] = server.Url("/slow") }), cancel.Token);

        Assert.Equal(RuntimeStatus.Cancelled, result.Status);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not a url")]
    [InlineData("file:///etc/passwd")]
    public async Task RunAsync_Rejects_WhenUrlIsMissingOrNotHttp(string? url)
    {
        var metadata = new Dictionary<string, string>();
        if (url is not null)
        {
            metadata["http.url"] = url;
        }

        var result = await _runtime.RunAsync(Invocation(metadata));

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains("http.url", result.ErrorSummary);
        Assert.Null(result.StdoutPath);
    }
}
