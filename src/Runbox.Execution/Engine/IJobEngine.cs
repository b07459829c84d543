using Runbox.Execution.Jobs;
using Runbox.Execution.Sandbox;

namespace Runbox.Execution.Engine;

/// <summary>Runs jobs. Implemented by <see cref="JobEngine"/>; the server and the library depend on this.</summary>
public interface IJobEngine : IAsyncDisposable
{
    /// <summary>Which sandbox features are in force on this host.</summary>
    SandboxCapabilities Capabilities { get; }

    /// <summary>Slots not taken by a running job.</summary>
    int FreeSlots { get; }

    /// <summary>
    /// Jobs holding a slot: from taking it (writing their folder, starting) until their processes are gone and the slot
    /// is free again, which is a moment after their result.
    /// </summary>
    int RunningJobs { get; }

    /// <summary>Jobs waiting for a free slot (<see cref="StartAsync"/> calls not yet returned), in the order they came.</summary>
    int WaitingJobs { get; }

    /// <summary>
    /// Waits for a free slot, then starts the job. Bad requests (unknown runtime, bad file names) do not throw:
    /// the returned execution completes with status <see cref="JobStatus.Error"/> and a message.
    /// <paramref name="cancellationToken"/> cancels only the wait for a slot (<see cref="OperationCanceledException"/>);
    /// a started job is cancelled with <see cref="JobExecution.Cancel"/>.
    /// </summary>
    Task<JobExecution> StartAsync(JobRequest request, CancellationToken cancellationToken = default);

    /// <summary>Adds or replaces a runtime; its zygote is (re)started on next use. Throws <see cref="ArgumentException"/> for a runtime without a name or interpreter, a null <c>Preload</c> or <c>Environment</c> (or a null in them), or a variable name that is empty or holds <c>=</c> or NUL.</summary>
    void SetRuntime(Runtimes.RuntimeDefinition runtime);

    /// <summary>Stops a runtime's zygote and forgets it.</summary>
    Task RemoveRuntimeAsync(string name);

    /// <summary>Starts a runtime's zygote now and reports its preload failures (module → error).</summary>
    Task<IReadOnlyDictionary<string, string>> WarmUpAsync(string runtime, CancellationToken cancellationToken = default);
}

/// <summary>Helpers over <see cref="IJobEngine"/>.</summary>
public static class JobEngineExtensions
{
    /// <summary>
    /// Runs a job to its end; cancelling the token cancels the job (status cancelled), also while it waits for a slot:
    /// it does not throw.
    /// </summary>
    public static async Task<JobResult> RunAsync(this IJobEngine engine, JobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(request);
        JobExecution execution;
        try
        {
            execution = await engine.StartAsync(request, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return JobRun.Cancelled(request.Id) with { Error = "cancelled before a slot was free" };
        }
        await using var registration = cancellationToken.Register(execution.Cancel);
        return await execution.Completion;
    }
}
