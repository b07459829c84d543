namespace Runbox.Execution.Invocations;

/// <summary>
/// Runs invocations of one <see cref="RuntimeInvocation.RuntimeKind"/>. <see cref="ExecutorRuntime"/> has already
/// validated the invocation, checked its directories and started the deadline when a runner is called.
/// </summary>
public interface IRuntimeRunner
{
    /// <summary>Whether invocations must carry a <see cref="RuntimeInvocation.Command"/>; HTTP runners read metadata instead.</summary>
    bool RequiresCommand => true;

    /// <summary>
    /// Runs the invocation. <paramref name="cancellationToken"/> fires at the deadline or when the caller cancels:
    /// a runner may simply let the <see cref="OperationCanceledException"/> escape, and the runtime reports
    /// <see cref="RuntimeStatus.TimedOut"/> or <see cref="RuntimeStatus.Cancelled"/>. Any other exception becomes
    /// <see cref="RuntimeStatus.Failed"/>.
    /// </summary>
    Task<RuntimeResult> RunAsync(RuntimeInvocation invocation, RunnerContext context, CancellationToken cancellationToken);
}
