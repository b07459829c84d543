using System.Text.Json;

namespace Runbox.Execution.Invocations;

/// <summary>
/// How an invocation ended, the same shape for every runner. A runner may leave the ids and times unset:
/// <see cref="ExecutorRuntime"/> fills them in. The JSON form uses the snake_case field names
/// (<c>invocation_id</c>, <c>exit_code</c>, <c>stdout_path</c>, ...).
/// </summary>
public sealed record RuntimeResult
{
    /// <summary>Echoed from <see cref="RuntimeInvocation.InvocationId"/>.</summary>
    public string InvocationId { get; init; } = "";

    /// <summary>Echoed from <see cref="RuntimeInvocation.RuntimeName"/>.</summary>
    public string RuntimeName { get; init; } = "";

    /// <summary>Echoed from <see cref="RuntimeInvocation.RuntimeKind"/>.</summary>
    public string RuntimeKind { get; init; } = "";

    /// <summary>How it ended.</summary>
    public required RuntimeStatus Status { get; init; }

    /// <summary>0 on success; the process's exit code (128 + signal when killed); the HTTP status of a failed request; null when it never ran.</summary>
    public int? ExitCode { get; init; }

    /// <summary>When <see cref="ExecutorRuntime.RunAsync"/> began it.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset FinishedAt { get; init; }

    /// <summary>The file holding its stdout (or an HTTP response body), in the artifact directory; null when rejected.</summary>
    public string? StdoutPath { get; init; }

    /// <summary>The file holding its stderr, in the artifact directory; null when rejected.</summary>
    public string? StderrPath { get; init; }

    /// <summary>The files it produced.</summary>
    public IReadOnlyList<ArtifactDescriptor> Artifacts { get; init; } = [];

    /// <summary>One or two sentences on why it did not succeed; null on success.</summary>
    public string? ErrorSummary { get; init; }

    /// <summary>What the runner learnt along the way (<c>http.status</c>, <c>http_async.run_id</c>, <c>wall_ms</c>, ...).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Succeeded for 0, failed otherwise: the shape most runners end with.</summary>
    public static RuntimeResult FromExitCode(int exitCode, string? errorSummary = null) => new()
    {
        Status = exitCode == 0 ? RuntimeStatus.Succeeded : RuntimeStatus.Failed,
        ExitCode = exitCode,
        ErrorSummary = exitCode == 0 ? null : errorSummary ?? $"Exited with code {exitCode}.",
    };

    /// <summary>For a runner whose work ran and failed.</summary>
    public static RuntimeResult Failed(int? exitCode, string errorSummary) => new()
    {
        Status = RuntimeStatus.Failed,
        ExitCode = exitCode,
        ErrorSummary = errorSummary,
    };

    /// <summary>For a runner that refuses the invocation before running anything.</summary>
    public static RuntimeResult Rejected(string errorSummary) => new()
    {
        Status = RuntimeStatus.Rejected,
        ErrorSummary = errorSummary,
    };

    /// <summary>The indented snake_case JSON written to <see cref="RuntimeInvocation.OutputResultPath"/>.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, InvocationJsonContext.Readable.RuntimeResult);

    /// <summary>Reads JSON written by <see cref="ToJson"/>.</summary>
    public static RuntimeResult FromJson(string json) =>
        JsonSerializer.Deserialize(json, InvocationJsonContext.Default.RuntimeResult)
        ?? throw new JsonException("The JSON holds null, not a runtime result.");

    /// <summary>Reads a result written to <see cref="RuntimeInvocation.OutputResultPath"/>.</summary>
    public static async Task<RuntimeResult> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        await using var stream = File.OpenRead(path);
        return await JsonSerializer.DeserializeAsync(stream, InvocationJsonContext.Default.RuntimeResult, cancellationToken)
            ?? throw new JsonException($"{path} holds null, not a runtime result.");
    }
}
