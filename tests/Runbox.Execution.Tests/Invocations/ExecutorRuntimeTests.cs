using System.Text.Json;
using Runbox.Execution.Engine;
using Runbox.Execution.Invocations;

namespace Runbox.Execution.Tests.Invocations;

public sealed class ExecutorRuntimeTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly ExecutorRuntime _runtime = new(new JobEngine(new EngineOptions()));

    public Task InitializeAsync()
    {
        _runtime.Register(RuntimeKinds.Manual, new ManualRunner((invocation, context, _) =>
        {
            var artifact = Path.Combine(context.OutputDirectory, "report.txt");
            File.WriteAllText(artifact, "report");
            return Task.FromResult(RuntimeResult.FromExitCode(0) with
            {
                Artifacts = [new ArtifactDescriptor("report.txt", artifact, "report", "What was found", new Dictionary<string, string> { ["rows"] = "3" })],
                Metadata = new Dictionary<string, string> { ["echo"] = invocation.Command.FirstOrDefault() ?? "" },
            });
        }));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _runtime.DisposeAsync();
        _directory.Dispose();
    }

    private RuntimeInvocation Valid(string kind) => new()
    {
        InvocationId = "inv-1",
        RuntimeName = "default",
        RuntimeKind = kind,
        Command = ["tool", "--flag"],
        WorkingDirectory = _directory.Path,
        ArtifactDirectory = _directory.Combine("artifacts"),
    };

    [Fact]
    public async Task Constructor_RegistersSubprocessAndPython_WhenParameterless()
    {
        await using var runtime = new ExecutorRuntime();

        Assert.Equal([RuntimeKinds.Python, RuntimeKinds.Subprocess], runtime.Kinds);
    }

    [Fact]
    public async Task RunAsync_RejectsNamingTheKind_WhenKindIsNotRegistered()
    {
        var result = await _runtime.RunAsync(Valid("teleport"));

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains("'teleport'", result.ErrorSummary);
        Assert.Contains("manual, python, subprocess", result.ErrorSummary);
        Assert.Null(result.ExitCode);
        Assert.Equal(("inv-1", "default", "teleport"), (result.InvocationId, result.RuntimeName, result.RuntimeKind));
        // The JSON people read (ToJson, result files) keeps the apostrophes as they are, not \u0027.
        Assert.Contains("runtime_kind 'teleport'", result.ToJson());
    }

    [Fact]
    public async Task RunAsync_Rejects_WhenWorkingDirectoryIsMissing()
    {
        var missing = _directory.Combine("nowhere");

        var result = await _runtime.RunAsync(new RuntimeInvocation
        {
            InvocationId = "inv-1",
            RuntimeName = "default",
            RuntimeKind = RuntimeKinds.Subprocess,
            Command = ["true"],
            WorkingDirectory = missing,
        });

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains(missing, result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_Rejects_WhenInputPayloadIsMissing()
    {
        var invocation = new RuntimeInvocation
        {
            InvocationId = "inv-1",
            RuntimeName = "default",
            RuntimeKind = RuntimeKinds.Manual,
            InputPayloadPath = _directory.Combine("payload.json"),
        };

        var result = await _runtime.RunAsync(invocation);

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains("input_payload_path", result.ErrorSummary);
    }

    [Theory]
    [InlineData("", "default", "invocation_id is empty")]
    [InlineData("inv-1", " ", "runtime_name is empty")]
    public async Task RunAsync_Rejects_WhenAnIdIsEmpty(string invocationId, string runtimeName, string message)
    {
        var result = await _runtime.RunAsync(new RuntimeInvocation
        {
            InvocationId = invocationId,
            RuntimeName = runtimeName,
            RuntimeKind = RuntimeKinds.Manual,
            Command = ["tool"],
        });

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains(message, result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_Rejects_WhenKindIsEmpty()
    {
        var result = await _runtime.RunAsync(new RuntimeInvocation { InvocationId = "inv-1", RuntimeName = "default", Command = ["x"] });

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains("runtime_kind is empty", result.ErrorSummary);
    }

    [Theory]
    [InlineData(RuntimeKinds.Subprocess)]
    [InlineData(RuntimeKinds.Python)]
    public async Task RunAsync_Rejects_WhenCommandIsEmptyForACommandRunner(string kind)
    {
        var result = await _runtime.RunAsync(new RuntimeInvocation { InvocationId = "inv-1", RuntimeName = "default", RuntimeKind = kind });

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains("command is empty", result.ErrorSummary);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(RuntimeInvocation.MaxTimeoutSeconds + 1)]
    [InlineData(int.MaxValue)]
    public async Task RunAsync_Rejects_WhenTimeoutIsOutOfRange(int timeoutSeconds)
    {
        var result = await _runtime.RunAsync(new RuntimeInvocation
        {
            InvocationId = "inv-1",
            RuntimeName = "default",
            RuntimeKind = RuntimeKinds.Manual,
            TimeoutSeconds = timeoutSeconds,
        });

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains($"timeout_seconds must be between 1 and {RuntimeInvocation.MaxTimeoutSeconds}", result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_Throws_AfterDispose()
    {
        await using var engine = new JobEngine(new EngineOptions());
        var runtime = new ExecutorRuntime(engine);
        runtime.Register(RuntimeKinds.Manual, new ManualRunner((_, _, _) => Task.FromResult(RuntimeResult.FromExitCode(0))));
        await runtime.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => runtime.RunAsync(Valid(RuntimeKinds.Manual)));
    }

    [Fact]
    public async Task RunAsync_ListsEveryProblem_WhenSeveralAreWrong()
    {
        var result = await _runtime.RunAsync(new RuntimeInvocation { RuntimeKind = RuntimeKinds.Subprocess, TimeoutSeconds = 0 });

        Assert.Contains("invocation_id", result.ErrorSummary);
        Assert.Contains("runtime_name", result.ErrorSummary);
        Assert.Contains("command", result.ErrorSummary);
        Assert.Contains("timeout_seconds", result.ErrorSummary);
    }

    [Fact]
    public async Task RunAsync_WritesResultJsonThatReadsBack_WhenOutputResultPathIsSet()
    {
        var outputPath = _directory.Combine("out", "result.json");
        var invocation = new RuntimeInvocation
        {
            InvocationId = "inv-1",
            RuntimeName = "default",
            RuntimeKind = RuntimeKinds.Manual,
            Command = ["tool", "--flag"],
            ArtifactDirectory = _directory.Combine("artifacts"),
            OutputResultPath = outputPath,
        };

        var result = await _runtime.RunAsync(invocation);
        var read = await RuntimeResult.ReadAsync(outputPath);

        Assert.Equal(RuntimeStatus.Succeeded, read.Status);
        Assert.Equal((result.InvocationId, result.RuntimeName, result.RuntimeKind), (read.InvocationId, read.RuntimeName, read.RuntimeKind));
        Assert.Equal(result.ExitCode, read.ExitCode);
        Assert.Equal(result.StartedAt, read.StartedAt);
        Assert.Equal(result.FinishedAt, read.FinishedAt);
        Assert.Equal(result.StdoutPath, read.StdoutPath);
        Assert.Equal(result.StderrPath, read.StderrPath);
        Assert.Equal("tool", read.Metadata["echo"]);
        var artifact = Assert.Single(read.Artifacts);
        Assert.Equal(("report.txt", "report", "What was found", "3"), (artifact.Id, artifact.Kind, artifact.Description, artifact.Metadata!["rows"]));
        Assert.Equal("report", await File.ReadAllTextAsync(artifact.Path));
    }

    [Fact]
    public async Task RunAsync_ThrowsNamingTheResultPath_WhenItCannotBeWritten()
    {
        var file = _directory.Combine("a-file");
        await File.WriteAllTextAsync(file, "not a folder");
        var outputPath = Path.Combine(file, "result.json");

        var error = await Assert.ThrowsAsync<IOException>(() => _runtime.RunAsync(new RuntimeInvocation
        {
            InvocationId = "inv-3",
            RuntimeName = "default",
            RuntimeKind = "teleport",
            OutputResultPath = outputPath,
        }));

        Assert.StartsWith($"The result could not be written to {outputPath}: ", error.Message);
    }

    [Fact]
    public async Task RunAsync_RejectsPathsHoldingNul_RatherThanThrowing()
    {
        var marker = _directory.Combine("ran");

        var result = await _runtime.RunAsync(new RuntimeInvocation
        {
            InvocationId = "inv-nul",
            RuntimeName = "default",
            RuntimeKind = RuntimeKinds.Subprocess,
            Command = ["/bin/touch", marker],
            ArtifactDirectory = _directory.Combine("out\0put"),
            WorkingDirectory = "/tmp/a\0b",
        });

        Assert.Equal(RuntimeStatus.Rejected, result.Status);
        Assert.Contains("working_directory contains NUL.", result.ErrorSummary);
        Assert.Contains("artifact_directory contains NUL.", result.ErrorSummary);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task RunAsync_ThrowsIOException_WhenTheResultPathHoldsNul()
    {
        var marker = _directory.Combine("ran");
        var outputPath = _directory.Combine("result\0.json");

        var error = await Assert.ThrowsAsync<IOException>(() => _runtime.RunAsync(new RuntimeInvocation
        {
            InvocationId = "inv-nul",
            RuntimeName = "default",
            RuntimeKind = RuntimeKinds.Subprocess,
            Command = ["/bin/touch", marker],
            OutputResultPath = outputPath,
        }));

        Assert.StartsWith($"The result could not be written to {outputPath}: ", error.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task RunAsync_WritesSnakeCaseJson_WhenOutputResultPathIsSet()
    {
        var outputPath = _directory.Combine("rejected.json");

        await _runtime.RunAsync(new RuntimeInvocation
        {
            InvocationId = "inv-2",
            RuntimeName = "default",
            RuntimeKind = "teleport",
            OutputResultPath = outputPath,
        });

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(outputPath));
        var root = json.RootElement;
        Assert.Equal("inv-2", root.GetProperty("invocation_id").GetString());
        Assert.Equal("default", root.GetProperty("runtime_name").GetString());
        Assert.Equal("teleport", root.GetProperty("runtime_kind").GetString());
        Assert.Equal("rejected", root.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("exit_code").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("stdout_path").ValueKind);
        Assert.Equal(JsonValueKind.Array, root.GetProperty("artifacts").ValueKind);
        Assert.Contains("teleport", root.GetProperty("error_summary").GetString());
        Assert.True(root.TryGetProperty("started_at", out _));
        Assert.True(root.TryGetProperty("finished_at", out _));
        Assert.True(root.TryGetProperty("stderr_path", out _));
        Assert.True(root.TryGetProperty("metadata", out _));
    }

    [Fact]
    public void ToJson_WritesTimedOutInSnakeCase_WhenStatusIsTimedOut()
    {
        var json = new RuntimeResult { Status = RuntimeStatus.TimedOut }.ToJson();

        Assert.Contains("\"status\": \"timed_out\"", json);
        Assert.Equal(RuntimeStatus.TimedOut, RuntimeResult.FromJson(json).Status);
    }

    [Fact]
    public void InvocationJsonContext_ReadsInvocation_WhenJsonIsSnakeCase()
    {
        const string json = """
            {
              "invocation_id": "inv-9",
              "runtime_name": "default",
              "runtime_kind": "subprocess",
              "command": ["echo", "hi"],
              "environment": { "A": "1" },
              "timeout_seconds": 5,
              "metadata": { "http.url": "http://127.0.0.1/" }
            }
            """;

        var invocation = JsonSerializer.Deserialize(json, InvocationJsonContext.Default.RuntimeInvocation)!;

        Assert.Equal(("inv-9", "default", "subprocess", 5), (invocation.InvocationId, invocation.RuntimeName, invocation.RuntimeKind, invocation.TimeoutSeconds));
        Assert.Equal(["echo", "hi"], invocation.Command);
        Assert.Equal("1", invocation.Environment["A"]);
        Assert.Equal("http://127.0.0.1/", invocation.Metadata["http.url"]);
        Assert.Empty(invocation.Validate());
    }
}
