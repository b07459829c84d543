namespace Runbox.Execution.Invocations;

/// <summary>The work of a <see cref="ManualRunner"/>: the caller's own code, given the invocation as it is.</summary>
public delegate Task<RuntimeResult> ManualRunHandler(RuntimeInvocation invocation, RunnerContext context, CancellationToken cancellationToken);

/// <summary>
/// Hands the invocation to a caller-supplied delegate, for work done in-process. The delegate gets the same
/// deadline token and live-line reporting (<see cref="RunnerContext.Log"/>) as any runner; what it logs becomes
/// the result's stdout and stderr files.
/// </summary>
public sealed class ManualRunner(ManualRunHandler handler) : IRuntimeRunner
{
    /// <inheritdoc/>
    public bool RequiresCommand => false;

    /// <inheritdoc/>
    public Task<RuntimeResult> RunAsync(RuntimeInvocation invocation, RunnerContext context, CancellationToken cancellationToken) =>
        handler(invocation, context, cancellationToken);
}
