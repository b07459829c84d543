using Runbox.Execution.Engine;
using Runbox.Execution.Invocations;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Invocations;

public sealed class ManualRunnerTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly ExecutorRuntime _runtime = new(new JobEngine(new EngineOptions()));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _runtime.DisposeAsync();
        _directory.Dispose();
    }

    private RuntimeInvocation Invocation(int? timeoutSeconds = null) => new()
    {
        InvocationId = "manual-1",
        RuntimeName = "in-process",
        RuntimeKind = RuntimeKinds.Manual,
        ArtifactDirectory = _directory.Combine("artifacts"),
        TimeoutSeconds = timeoutSeconds,
        Metadata = new() { ["greeting"] = "hello" },
    };

    [Fact]
    public async Task RunAsync_GivesDelegateTheInvocationAndKeepsItsLog_WhenItSucceeds()
    {
        RuntimeInvocation? seen = null;
        _runtime.Register(RuntimeKinds.Manual, new ManualRunner((invocation, context, _) =>
        {
            seen = invocation;
            context.Log(LogStream.Stdout, $"{invocation.Metadata["greeting"]}\nworld");
            context.Log(LogStream.Stderr, "a warning\n");
            context.Metadata["answer"] = "42";
            return Task.FromResult(RuntimeResult.FromExitCode(0));
        }));
        var lines = new List<LogLine>();
        var invocation = Invocation();

        var result = await _runtime.RunAsync(invocation, onLogLine: lines.Add);

        Assert.Same(invocation, seen);
        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(("manual-1", "in-process", "manual"), (result.InvocationId, result.RuntimeName, result.RuntimeKind));
        Assert.True(result.StartedAt <= result.FinishedAt);
        Assert.NotEqual(default, result.StartedAt);
        Assert.Equal("42", result.Metadata["answer"]);
        Assert.Equal("hello\nworld\n", await File.ReadAllTextAsync(result.StdoutPath!));
        Assert.Equal("a warning\n", await File.ReadAllTextAsync(result.StderrPath!));
        Assert.Equal(["hello", "world", "a warning"], lines.Select(line => line.Text));
        Assert.Equal([1L, 2L, 3L], lines.Select(line => line.Seq));
    }

    [Fact]
    public async Task RunAsync_Fails_WhenDelegateReportsNonZeroExit()
    {
        _runtime.Register(RuntimeKinds.Manual, new ManualRunner((_, _, _) => Task.FromResult(RuntimeResult.FromExitCode(3))));

        var result = await _runtime.RunAsync(Invocation());

        Assert.Equal(RuntimeStatus.Failed, result.Status);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("Exited with code 3.", result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_Fails_WhenDelegateThrows()
    {
        _runtime.Register(RuntimeKinds.Manual, new ManualRunner((_, _, _) => throw new InvalidOperationException("broken")));

        var result = await _runtime.RunAsync(Invocation());

        Assert.Equal(RuntimeStatus.Failed, result.Status);
        Assert.Contains("InvalidOperationException: broken", result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_TimesOut_WhenDelegateOutlastsDeadline()
    {
        _runtime.Register(RuntimeKinds.Manual, new ManualRunner(async (_, _, cancellationToken) =>
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return RuntimeResult.FromExitCode(0);
        }));

        var result = await _runtime.RunAsync(Invocation(timeoutSeconds: 1));

        Assert.Equal(RuntimeStatus.TimedOut, result.Status);
        Assert.Equal("Timed out after 1 s.", result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_Cancels_WhenCallerCancels()
    {
        _runtime.Register(RuntimeKinds.Manual, new ManualRunner(async (_, _, cancellationToken) =>
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return RuntimeResult.FromExitCode(0);
        }));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        var result = await _runtime.RunAsync(Invocation(timeoutSeconds: 30), cancel.Token);

        Assert.Equal(RuntimeStatus.Cancelled, result.Status);
    }

    [Fact]
    public async Task RunAsync_Rejects_WhenDelegateRejects()
    {
        _runtime.Register(RuntimeKinds.Manual, new ManualRunner((_, _, _) => Task.FromResult(RuntimeResult.Rejected("not today"))));

        var result = await _runtime.RunAsync(Invocation());

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Equal("not today", result.ErrorSummary);
        Assert.Null(result.StdoutPath);
    }

    [Fact]
    public async Task RunAsync_FinishesAndNotesIt_WhenLogCallbackThrows()
    {
        _runtime.Register(RuntimeKinds.Manual, new ManualRunner((_, context, _) =>
        {
            context.Log(LogStream.Stdout, "one\ntwo\n");
            return Task.FromResult(RuntimeResult.FromExitCode(0));
        }));
        var calls = 0;

        var result = await _runtime.RunAsync(Invocation(), onLogLine: _ =>
        {
            calls++;
            throw new InvalidOperationException("observer broke");
        });

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        Assert.Equal(1, calls);
        Assert.Contains("observer broke", result.Metadata["log_callback_error"]);
        Assert.Equal("one\ntwo\n", await File.ReadAllTextAsync(result.StdoutPath!));
    }
}
