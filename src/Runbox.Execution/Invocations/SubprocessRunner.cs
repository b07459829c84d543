using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Invocations;

/// <summary>
/// Runs <see cref="RuntimeInvocation.Command"/> as an argv (no shell) inside the engine's sandbox: environment
/// overlay on a clean base, the invocation's working directory, its whole process group killed at the deadline,
/// stdout and stderr kept as files in the artifact directory, the files it leaves collected as artifacts.
/// </summary>
public sealed class SubprocessRunner(IJobEngine engine) : IRuntimeRunner
{
    /// <inheritdoc/>
    public async Task<RuntimeResult> RunAsync(RuntimeInvocation invocation, RunnerContext context, CancellationToken cancellationToken)
    {
        var workingDirectory = invocation.WorkingDirectory is { } directory ? Path.GetFullPath(directory) : null;
        await using var payload = EngineJobs.OpenPayload(invocation);
        var request = new JobRequest
        {
            Id = ExecutorRuntime.SafeName(invocation.InvocationId),
            // An argv job runs no interpreter of a runtime; Bash is the language that ignores the runtime name.
            Language = JobLanguage.Bash,
            Command = invocation.Command,
            Environment = invocation.Environment,
            WorkingDirectory = workingDirectory,
            ArtifactDirectory = EngineJobs.ArtifactCopyDirectory(workingDirectory, context),
            StdinStream = payload,
            Limits = EngineJobs.Limits(context),
        };
        return await EngineJobs.RunAsync(engine, request, context, cancellationToken);
    }
}
