using System.Collections.Concurrent;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Invocations;

/// <summary>
/// The embeddable entry point: takes a <see cref="RuntimeInvocation"/>, hands it to the runner registered for its
/// kind and returns a normalized <see cref="RuntimeResult"/>. <c>subprocess</c> and <c>python</c> are registered
/// from the start; the HTTP runners and <c>manual</c> are registered by the host when it wants them.
/// </summary>
public sealed class ExecutorRuntime : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, IRuntimeRunner> _runners = new(StringComparer.Ordinal);
    private readonly IJobEngine _engine;
    private readonly bool _ownsEngine;
    private readonly TimeProvider _timeProvider;
    private int _disposed;

    /// <summary>Runs <c>subprocess</c> and <c>python</c> through a <see cref="JobEngine"/> with default options, disposed with this.</summary>
    public ExecutorRuntime()
        : this(new JobEngine(new EngineOptions()), ownsEngine: true, timeProvider: null)
    {
    }

    /// <summary>Runs <c>subprocess</c> and <c>python</c> through the given engine, which the caller keeps and disposes.</summary>
    public ExecutorRuntime(IJobEngine engine, TimeProvider? timeProvider = null)
        : this(engine, ownsEngine: false, timeProvider)
    {
    }

    private ExecutorRuntime(IJobEngine engine, bool ownsEngine, TimeProvider? timeProvider)
    {
        _engine = engine;
        _ownsEngine = ownsEngine;
        _timeProvider = timeProvider ?? TimeProvider.System;
        // The HTTP runners are left out on purpose: they reach the network from the host process, outside the
        // sandbox, so a host that runs invocations it did not write must opt in to them.
        Register(RuntimeKinds.Subprocess, new SubprocessRunner(engine));
        Register(RuntimeKinds.Python, new PythonRunner(engine));
    }

    /// <summary>The kinds with a runner.</summary>
    public IReadOnlyCollection<string> Kinds => _runners.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Adds a runner for a kind, or replaces the one there.</summary>
    public void Register(string kind, IRuntimeRunner runner)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(runner);
        _runners[kind] = runner;
    }

    /// <summary>
    /// Runs the invocation to its end. Problems with the invocation, and failures of what it runs, come back as the
    /// result's status and <see cref="RuntimeResult.ErrorSummary"/>; only failing to write
    /// <see cref="RuntimeInvocation.OutputResultPath"/> throws, and calling it after <see cref="DisposeAsync"/>
    /// (<see cref="ObjectDisposedException"/>).
    /// </summary>
    /// <param name="invocation">What to run; checked first, and answered with <see cref="RuntimeStatus.Rejected"/> when not valid.</param>
    /// <param name="cancellationToken">Cancels the run: the result is <see cref="RuntimeStatus.Cancelled"/>, nothing is thrown.</param>
    /// <param name="onLogLine">Called for each line of output as it comes, one call at a time, on any thread.</param>
    public async Task<RuntimeResult> RunAsync(
        RuntimeInvocation invocation,
        CancellationToken cancellationToken = default,
        Action<LogLine>? onLogLine = null)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var startedAt = _timeProvider.GetUtcNow();
        var result = await RunCheckedAsync(invocation, startedAt, onLogLine, cancellationToken);
        if (invocation.OutputResultPath is { Length: > 0 } outputPath)
        {
            await WriteResultAsync(result, outputPath);
        }
        return result;
    }

    private async Task<RuntimeResult> RunCheckedAsync(
        RuntimeInvocation invocation,
        DateTimeOffset startedAt,
        Action<LogLine>? onLogLine,
        CancellationToken cancellationToken)
    {
        var runner = string.IsNullOrWhiteSpace(invocation.RuntimeKind) ? null : _runners.GetValueOrDefault(invocation.RuntimeKind);
        var errors = invocation.Validate(runner?.RequiresCommand ?? false).ToList();
        if (runner is null && !string.IsNullOrWhiteSpace(invocation.RuntimeKind))
        {
            errors.Insert(0, $"No runner is registered for runtime_kind '{invocation.RuntimeKind}' (registered: {string.Join(", ", Kinds)}).");
        }
        if (invocation.WorkingDirectory is { } workingDirectory && !Directory.Exists(workingDirectory))
        {
            errors.Add($"working_directory '{workingDirectory}' does not exist.");
        }
        if (invocation.InputPayloadPath is { } payload && !File.Exists(payload))
        {
            errors.Add($"input_payload_path '{payload}' does not exist.");
        }
        if (errors.Count > 0 || runner is null)
        {
            return Finish(invocation, RuntimeResult.Rejected(string.Join(" ", errors)), startedAt, context: null);
        }

        RunnerContext context;
        try
        {
            context = new RunnerContext(PrepareOutputDirectory(invocation), Timeout(invocation), _timeProvider, onLogLine);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Finish(invocation, RuntimeResult.Rejected($"artifact_directory could not be created: {ex.Message}"), startedAt, context: null);
        }

        using var deadline = context.Timeout is { } timeout
            ? new CancellationTokenSource(timeout, _timeProvider)
            : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        RuntimeResult result;
        try
        {
            // A runner written without nullable checks can hand back null; that is its failure, not a crash here.
            result = await runner.RunAsync(invocation, context, linked.Token)
                ?? RuntimeResult.Failed(null, $"The {invocation.RuntimeKind} runner returned no result.");
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            result = new RuntimeResult { Status = RuntimeStatus.Cancelled, ErrorSummary = "Cancelled by the caller." };
        }
        catch (Exception ex)
        {
            result = RuntimeResult.Failed(null, $"The {invocation.RuntimeKind} runner failed: {ex.GetType().Name}: {ex.Message}");
        }

        // However the runner saw the cut (an engine reports its job cancelled), a cut at the deadline is a timeout.
        if (result.Status == RuntimeStatus.Cancelled && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            result = result with
            {
                Status = RuntimeStatus.TimedOut,
                ErrorSummary = $"Timed out after {invocation.TimeoutSeconds} s.",
            };
        }

        if (result.Status != RuntimeStatus.Rejected && (result.StdoutPath is null || result.StderrPath is null))
        {
            await context.WriteCapturedAsync(result.StdoutPath is null, result.StderrPath is null, CancellationToken.None);
            result = result with { StdoutPath = result.StdoutPath ?? context.StdoutPath, StderrPath = result.StderrPath ?? context.StderrPath };
        }
        return Finish(invocation, result, startedAt, context);
    }

    /// <summary>Echoes the ids, fills the times the runner left unset and merges the metadata it gathered.</summary>
    private RuntimeResult Finish(RuntimeInvocation invocation, RuntimeResult result, DateTimeOffset startedAt, RunnerContext? context)
    {
        var metadata = new Dictionary<string, string>(context?.Metadata ?? []);
        foreach (var (key, value) in result.Metadata)
        {
            metadata[key] = value;
        }
        if (context?.CallbackError is { } callbackError)
        {
            metadata["log_callback_error"] = callbackError;
        }
        return result with
        {
            InvocationId = invocation.InvocationId ?? "",
            RuntimeName = invocation.RuntimeName ?? "",
            RuntimeKind = invocation.RuntimeKind ?? "",
            StartedAt = result.StartedAt == default ? startedAt : result.StartedAt,
            FinishedAt = result.FinishedAt == default ? _timeProvider.GetUtcNow() : result.FinishedAt,
            Metadata = metadata,
        };
    }

    private static TimeSpan? Timeout(RuntimeInvocation invocation) =>
        invocation.TimeoutSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null;

    private static string PrepareOutputDirectory(RuntimeInvocation invocation)
    {
        var directory = invocation.ArtifactDirectory is { Length: > 0 } given
            ? Path.GetFullPath(given)
            : Path.Combine(Path.GetTempPath(), "runbox-invocations", $"{SafeName(invocation.InvocationId)}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>An id reduced to characters safe in a file or sandbox name; empty when none are left.</summary>
    internal static string SafeName(string? id) =>
        new string((id ?? "").Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_').Take(64).ToArray());

    /// <summary>Written beside the target and renamed over it, so a reader never sees half a result.</summary>
    private static async Task WriteResultAsync(RuntimeResult result, string path)
    {
        var full = path;
        var temporary = "";
        try
        {
            full = Path.GetFullPath(path);
            temporary = $"{full}.{Guid.NewGuid():N}.tmp";
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            await File.WriteAllTextAsync(temporary, result.ToJson());
            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // The framework's message names whichever path failed (a parent that is a file, say): say what was being written.
            // ArgumentException too (a NUL in the path): the documented failure is an IOException.
            if (temporary.Length > 0 && File.Exists(temporary))
            {
                File.Delete(temporary);
            }
            throw new IOException($"The result could not be written to {full}: {e.Message}", e);
        }
    }

    /// <summary>Disposes the engine when this runtime created it (see the constructors); a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (_ownsEngine)
        {
            await _engine.DisposeAsync();
        }
    }
}
