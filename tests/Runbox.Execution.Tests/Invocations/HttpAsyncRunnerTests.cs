using Runbox.Execution.Engine;
using Runbox.Execution.Invocations;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Invocations;

public sealed class HttpAsyncRunnerTests(RunServer server) : IClassFixture<RunServer>, IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private ExecutorRuntime _runtime = null!;

    public Task InitializeAsync()
    {
        _runtime = new ExecutorRuntime(new JobEngine(new EngineOptions()));
        _runtime.Register(RuntimeKinds.HttpAsync, new HttpAsyncRunner());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _runtime.DisposeAsync();
        _directory.Dispose();
    }

    /// <summary>An invocation against the test server's run API; <paramref name="query"/> scripts the remote run.</summary>
    private RuntimeInvocation Invocation(string query, int? timeoutSeconds = 20, Action<Dictionary<string, string>>? change = null)
    {
        var metadata = new Dictionary<string, string>
        {
            ["http.url"] = server.Url($"/runs?{query}"),
            ["http_async.poll_url"] = server.Url("/runs/{run_id}"),
            ["http_async.run_id_path"] = "data.run_id",
            ["http_async.status_path"] = "run.state",
            ["http_async.poll_interval_ms"] = "50",
        };
        change?.Invoke(metadata);
        return new RuntimeInvocation
        {
            InvocationId = "async-1",
            RuntimeName = "remote",
            RuntimeKind = RuntimeKinds.HttpAsync,
            ArtifactDirectory = _directory.Combine("artifacts"),
            TimeoutSeconds = timeoutSeconds,
            Metadata = metadata,
        };
    }

    [Fact]
    public async Task RunAsync_Succeeds_WhenKickOffAnswers202AndPollingReachesSuccess()
    {
        var lines = new List<LogLine>();

        var result = await _runtime.RunAsync(Invocation("outcome=succeeded&running=2"), onLogLine: lines.Add);

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("run-", result.Metadata[HttpAsyncRunner.RunIdMetadata]);
        Assert.Equal("succeeded", result.Metadata[HttpAsyncRunner.StateMetadata]);
        Assert.Contains("\"output\":\"output of run-", await File.ReadAllTextAsync(result.StdoutPath!));
        var progress = lines.Where(line => line.Stream == LogStream.Stderr).Select(line => line.Text).ToArray();
        Assert.Contains(progress, text => text.EndsWith(": running", StringComparison.Ordinal));
        Assert.Contains(progress, text => text.EndsWith(": succeeded", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_KeepsPolling_WhilePollAnswersPendingStatusCode()
    {
        var invocation = Invocation("outcome=succeeded&pending=3", change: metadata => metadata["http_async.pending_status_codes"] = "404");

        var result = await _runtime.RunAsync(invocation);

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        Assert.Equal("200", result.Metadata["http.status"]);
    }

    [Fact]
    public async Task RunAsync_FailsWithStatusAsExitCode_When404IsNotAPendingCode()
    {
        var result = await _runtime.RunAsync(Invocation("outcome=succeeded&pending=1"));

        Assert.Equal(RuntimeStatus.Failed, result.Status);
        Assert.Equal(404, result.ExitCode);
        Assert.Contains("404", result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_Fails_WhenRemoteRunEndsInFailureState()
    {
        var result = await _runtime.RunAsync(Invocation("outcome=failed&running=1"));

        Assert.Equal(RuntimeStatus.Failed, result.Status);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("'failed'", result.ErrorSummary);
        Assert.Equal("failed", result.Metadata[HttpAsyncRunner.StateMetadata]);
    }

    [Fact]
    public async Task RunAsync_UsesCallersStates_WhenTerminalAndSuccessStatesGiven()
    {
        var invocation = Invocation("outcome=DONE", change: metadata =>
        {
            metadata["http_async.terminal_states"] = "DONE,BROKEN";
            metadata["http_async.success_states"] = "done";
        });

        var result = await _runtime.RunAsync(invocation);

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
    }

    [Fact]
    public async Task RunAsync_TimesOutKeepingRunId_WhenRunOutlastsDeadline()
    {
        var result = await _runtime.RunAsync(Invocation("outcome=never", timeoutSeconds: 1));

        Assert.Equal(RuntimeStatus.TimedOut, result.Status);
        Assert.StartsWith("run-", result.Metadata[HttpAsyncRunner.RunIdMetadata]);
        Assert.Equal("running", result.Metadata[HttpAsyncRunner.StateMetadata]);
        // The stdout file is the last poll answer, as for a run that ended.
        Assert.Equal("""{"run":{"state":"running"}}""", await File.ReadAllTextAsync(result.StdoutPath!));
    }

    [Fact]
    public async Task RunAsync_TimesOut_WhenRunStaysPendingPastDeadline()
    {
        var invocation = Invocation("pending=1000000", timeoutSeconds: 1, change: metadata => metadata["http_async.pending_status_codes"] = "404");

        var result = await _runtime.RunAsync(invocation);

        Assert.Equal(RuntimeStatus.TimedOut, result.Status);
    }

    [Fact]
    public async Task RunAsync_FailsWithStatusAsExitCode_WhenKickOffIsRefused()
    {
        var invocation = Invocation("", change: metadata => metadata["http.url"] = server.Url("/status/503"));

        var result = await _runtime.RunAsync(invocation);

        Assert.Equal(RuntimeStatus.Failed, result.Status);
        Assert.Equal(503, result.ExitCode);
        Assert.Contains("kick-off", result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_Fails_WhenKickOffAnswerHasNoRunId()
    {
        var invocation = Invocation("", change: metadata => metadata["http.url"] = server.Url("/runs-without-id"));

        var result = await _runtime.RunAsync(invocation);

        Assert.Equal(RuntimeStatus.Failed, result.Status);
        Assert.Contains("data.run_id", result.ErrorSummary);
        Assert.Contains("accepted", await File.ReadAllTextAsync(result.StdoutPath!));
    }

    [Fact]
    public async Task RunAsync_Rejects_WhenPollSettingsAreMissingOrInvalid()
    {
        var invocation = Invocation("", change: metadata =>
        {
            metadata.Remove("http_async.poll_url");
            metadata["http_async.poll_interval_ms"] = "soon";
            metadata["http_async.pending_status_codes"] = "404,later";
        });

        var result = await _runtime.RunAsync(invocation);

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains("http_async.poll_url", result.ErrorSummary);
        Assert.Contains("http_async.poll_interval_ms", result.ErrorSummary);
        Assert.Contains("'later'", result.ErrorSummary);
    }
}
