using Runbox.Execution.Invocations;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Invocations;

/// <summary>The subprocess runner against the real engine (skipped with the reason while the engine is not there).</summary>
public sealed class SubprocessRunnerTests(EngineFixture fixture) : IClassFixture<EngineFixture>, IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private ExecutorRuntime Runtime() => new(fixture.Engine);

    private RuntimeInvocation Invocation(string[] command, int? timeoutSeconds = 20, Dictionary<string, string>? environment = null, string? payload = null) => new()
    {
        InvocationId = "sub-1",
        RuntimeName = "shell",
        RuntimeKind = RuntimeKinds.Subprocess,
        WorkingDirectory = _directory.Path,
        ArtifactDirectory = _directory.Combine("artifacts"),
        Command = command,
        Environment = environment ?? [],
        TimeoutSeconds = timeoutSeconds,
        InputPayloadPath = payload,
    };

    [SkippableFact]
    public async Task RunAsync_SucceedsKeepingExactOutput_WhenCommandExitsZero()
    {
        fixture.Require();
        var lines = new List<LogLine>();

        var result = await Runtime().RunAsync(Invocation(["sh", "-c", "printf 'one\\ntwo\\n'; printf 'warn' >&2"]), onLogLine: lines.Add);

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(_directory.Combine("artifacts", "stdout.log"), result.StdoutPath);
        Assert.Equal("one\ntwo\n", await File.ReadAllTextAsync(result.StdoutPath!));
        Assert.Equal("warn", await File.ReadAllTextAsync(result.StderrPath!));
        Assert.Equal(["one", "two"], lines.Where(line => line.Stream == LogStream.Stdout).Select(line => line.Text));
        // "warn" had no newline after it: the live line says so, as the engine's did.
        Assert.All(lines.Where(line => line.Stream == LogStream.Stdout), line => Assert.True(line.Ended));
        Assert.False(Assert.Single(lines, line => line.Stream == LogStream.Stderr).Ended);
    }

    [SkippableFact]
    public async Task RunAsync_FeedsThePayload_AsTheJobReadsIt_FromAFifoStillBeingWritten()
    {
        fixture.Require();
        using var fifoFolder = new TempDirectory();
        var fifo = fifoFolder.Combine("payload");
        Assert.Equal(0, Mkfifo(fifo, 0x180));
        var firstLine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var invocation = Invocation(["sh", "-c", "while read line; do echo \"got $line\"; done"], payload: fifo);

        // On a thread of its own: opening a FIFO to read waits for its writer.
        var run = Task.Run(() => Runtime().RunAsync(invocation, onLogLine: line =>
        {
            if (line.Text == "got one")
            {
                firstLine.TrySetResult();
            }
        }));
        await using (var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write))
        {
            await writer.WriteAsync("one\n"u8.ToArray());
            await writer.FlushAsync();
            // Answered while the payload is still open: it was not read whole before the command started.
            await firstLine.Task.WaitAsync(TimeSpan.FromSeconds(20));
            await writer.WriteAsync("two\n"u8.ToArray());
        }
        var result = await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        Assert.Equal("got one\ngot two\n", await File.ReadAllTextAsync(result.StdoutPath!));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int Mkfifo(string path, int mode);

    [SkippableFact]
    public async Task RunAsync_PassesArgvWithoutShell_WhenArgumentsHoldShellSyntax()
    {
        fixture.Require();

        var result = await Runtime().RunAsync(Invocation(["printf", "%s|", "$HOME", "a b", "; echo no"]));

        Assert.Equal("$HOME|a b|; echo no|", await File.ReadAllTextAsync(result.StdoutPath!));
    }

    [SkippableFact]
    public async Task RunAsync_OverlaysEnvironmentAndFeedsPayload_WhenGiven()
    {
        fixture.Require();
        var payload = _directory.Combine("payload.txt");
        await File.WriteAllTextAsync(payload, "from stdin");

        var result = await Runtime().RunAsync(Invocation(
            ["sh", "-c", "echo \"$GREETING\"; cat"],
            environment: new() { ["GREETING"] = "hello" },
            payload: payload));

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        Assert.Equal("hello\nfrom stdin", await File.ReadAllTextAsync(result.StdoutPath!));
    }

    [SkippableFact]
    public async Task RunAsync_FailsWithExitCode_WhenCommandExitsNonZero()
    {
        fixture.Require();

        var result = await Runtime().RunAsync(Invocation(["sh", "-c", "exit 3"]));

        Assert.Equal(RuntimeStatus.Failed, result.Status);
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("3", result.ErrorSummary);
    }

    [SkippableFact]
    public async Task RunAsync_TimesOutKillingProcessGroup_WhenCommandOutlastsDeadline()
    {
        fixture.Require();

        var result = await Runtime().RunAsync(Invocation(["sh", "-c", "sleep 60 & sleep 60"], timeoutSeconds: 1));

        Assert.Equal(RuntimeStatus.TimedOut, result.Status);
        Assert.True(result.FinishedAt - result.StartedAt < TimeSpan.FromSeconds(30));
    }

    [SkippableFact]
    public async Task RunAsync_CollectsFilesAsArtifacts_WhenCommandLeavesThem()
    {
        fixture.Require();

        var result = await Runtime().RunAsync(Invocation(["sh", "-c", "echo data > out.csv"]));

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        var artifact = Assert.Single(result.Artifacts, artifact => artifact.Id == "out.csv");
        Assert.Equal("file", artifact.Kind);
        Assert.Equal("data\n", await File.ReadAllTextAsync(artifact.Path));
    }

    [SkippableFact]
    public async Task RunAsync_ReportsOnlyFilesTheRunChanged_WhenWorkingDirectoryHadFiles()
    {
        fixture.Require();
        await File.WriteAllTextAsync(_directory.Combine("kept.txt"), "untouched");
        await File.WriteAllTextAsync(_directory.Combine("edited.txt"), "before");

        var result = await Runtime().RunAsync(Invocation(["sh", "-c", "echo after >> edited.txt; echo new > new.txt"]));

        Assert.Equal(["edited.txt", "new.txt"], result.Artifacts.Select(artifact => artifact.Id).Order());
        Assert.False(File.Exists(_directory.Combine("artifacts", "kept.txt")));
        Assert.Equal("untouched", await File.ReadAllTextAsync(_directory.Combine("kept.txt")));
    }

    [SkippableFact]
    public async Task RunAsync_ListsArtifactsInPlace_WhenArtifactDirectoryIsWorkingDirectory()
    {
        fixture.Require();
        var invocation = new RuntimeInvocation
        {
            InvocationId = "sub-same",
            RuntimeName = "shell",
            RuntimeKind = RuntimeKinds.Subprocess,
            WorkingDirectory = _directory.Path,
            ArtifactDirectory = _directory.Path,
            Command = ["sh", "-c", "echo data > out.csv"],
        };

        var result = await Runtime().RunAsync(invocation);

        var artifact = Assert.Single(result.Artifacts);
        Assert.Equal(_directory.Combine("out.csv"), artifact.Path);
        Assert.Equal("data\n", await File.ReadAllTextAsync(artifact.Path));
    }

    [SkippableFact]
    public async Task RunAsync_KeepsArtifactsInTemporaryDirectory_WhenNoDirectoriesGiven()
    {
        fixture.Require();
        var invocation = new RuntimeInvocation
        {
            InvocationId = "sub-bare",
            RuntimeName = "shell",
            RuntimeKind = RuntimeKinds.Subprocess,
            Command = ["sh", "-c", "echo data > out.csv; echo done"],
        };

        var result = await Runtime().RunAsync(invocation);

        Assert.Equal(RuntimeStatus.Succeeded, result.Status);
        Assert.Equal("done\n", await File.ReadAllTextAsync(result.StdoutPath!));
        var artifact = Assert.Single(result.Artifacts);
        Assert.Equal(Path.GetDirectoryName(result.StdoutPath), Path.GetDirectoryName(artifact.Path));
        Assert.Equal("data\n", await File.ReadAllTextAsync(artifact.Path));
        Directory.Delete(Path.GetDirectoryName(result.StdoutPath)!, recursive: true);
    }

    [SkippableFact]
    public async Task RunAsync_Cancels_WhenCallerCancels()
    {
        fixture.Require();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var result = await Runtime().RunAsync(Invocation(["sleep", "60"]), cancel.Token);

        Assert.Equal(RuntimeStatus.Cancelled, result.Status);
    }

    [SkippableFact]
    public async Task RunAsync_DoesNotSucceed_WhenProgramDoesNotExist()
    {
        fixture.Require();

        var result = await Runtime().RunAsync(Invocation(["/no/such/program"]));

        // The engine may refuse it (rejected) or report the exec failure as an exit (failed, 127); never success.
        Assert.Contains(result.Status, new[] { RuntimeStatus.Rejected, RuntimeStatus.Failed });
        Assert.NotNull(result.ErrorSummary);
    }
}
