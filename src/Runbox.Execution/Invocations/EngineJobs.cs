using System.Globalization;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Invocations;

/// <summary>Runs a <see cref="JobRequest"/> through the engine for the subprocess and python runners and translates the result.</summary>
internal static class EngineJobs
{
    public static async Task<RuntimeResult> RunAsync(IJobEngine engine, JobRequest request, RunnerContext context, CancellationToken cancellationToken)
    {
        JobExecution execution;
        try
        {
            execution = await engine.StartAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Nothing ran, so the invocation is rejected rather than failed.
            return RuntimeResult.Rejected($"The engine could not start the job: {ex.Message}");
        }

        // The deadline and the caller's cancel both reach the engine as a cancel; the runtime tells them apart.
        await using var registration = cancellationToken.Register(execution.Cancel);
        var pump = PumpLogsAsync(execution, context);
        var job = await execution.Completion;
        await pump;
        return await TranslateAsync(job, context);
    }

    private static async Task PumpLogsAsync(JobExecution execution, RunnerContext context)
    {
        // The engine keeps lines until they are read, so they are read to the end whether or not anyone listens.
        await foreach (var line in execution.ReadLogsAsync(CancellationToken.None))
        {
            context.Report(line.Stream, line.Text);
        }
    }

    internal static async Task<RuntimeResult> TranslateAsync(JobResult job, RunnerContext context)
    {
        var status = job.Status switch
        {
            JobStatus.Succeeded => RuntimeStatus.Succeeded,
            JobStatus.Failed => RuntimeStatus.Failed,
            JobStatus.TimedOut => RuntimeStatus.TimedOut,
            JobStatus.Cancelled => RuntimeStatus.Cancelled,
            _ => RuntimeStatus.Rejected,
        };
        var metadata = Metadata(job);
        if (status == RuntimeStatus.Rejected)
        {
            return new RuntimeResult
            {
                Status = status,
                ErrorSummary = job.Error ?? $"The engine could not run the job ({job.Status.ToWire()}).",
                Metadata = metadata,
            };
        }

        // Bytes from the result, not the decoded live lines, so the files hold exactly what the job wrote.
        await File.WriteAllBytesAsync(context.StdoutPath, job.Stdout);
        await File.WriteAllBytesAsync(context.StderrPath, job.Stderr);
        var ours = new HashSet<string>([Path.GetFullPath(context.StdoutPath), Path.GetFullPath(context.StderrPath)]);
        var artifacts = job.Artifacts
            .Where(artifact => !ours.Contains(Path.GetFullPath(artifact.Path)))
            .Select(artifact => new ArtifactDescriptor(
                artifact.Name,
                artifact.Path,
                "file",
                Metadata: new Dictionary<string, string> { ["size"] = artifact.Size.ToString(CultureInfo.InvariantCulture) }))
            .ToArray();

        return new RuntimeResult
        {
            Status = status,
            ExitCode = job.ShellExitCode,
            StartedAt = job.StartedAt,
            FinishedAt = job.FinishedAt,
            StdoutPath = context.StdoutPath,
            StderrPath = context.StderrPath,
            Artifacts = artifacts,
            ErrorSummary = status == RuntimeStatus.Succeeded ? null : Summary(job),
            Metadata = metadata,
        };
    }

    private static string Summary(JobResult job)
    {
        var how = job.Status switch
        {
            JobStatus.TimedOut => "Timed out",
            JobStatus.Cancelled => "Cancelled",
            _ when job.Signal is { } signal => $"Killed by signal {signal}",
            _ => $"Exited with code {job.ShellExitCode}",
        };
        var limit = job.LimitExceeded == LimitKind.None ? "" : $" ({job.LimitExceeded.ToWire()} limit exceeded)";
        var error = job.Error is { Length: > 0 } text ? $": {text}" : "";
        return $"{how}{limit}{error}.";
    }

    private static Dictionary<string, string> Metadata(JobResult job)
    {
        var metadata = new Dictionary<string, string>
        {
            ["job_id"] = job.Id,
            ["wall_ms"] = job.WallMs.ToString(CultureInfo.InvariantCulture),
            ["cpu_ms"] = (job.CpuUserMs + job.CpuSystemMs).ToString(CultureInfo.InvariantCulture),
            ["peak_memory_bytes"] = job.PeakMemoryBytes.ToString(CultureInfo.InvariantCulture),
        };
        if (job.LimitExceeded != LimitKind.None)
        {
            metadata["limit_exceeded"] = job.LimitExceeded.ToWire();
        }
        if (job.Signal is { } signal)
        {
            metadata["signal"] = signal.ToString(CultureInfo.InvariantCulture);
        }
        if (job.StdoutTruncated)
        {
            metadata["stdout_truncated"] = "true";
        }
        if (job.StderrTruncated)
        {
            metadata["stderr_truncated"] = "true";
        }
        return metadata;
    }

    public static async Task<byte[]?> ReadPayloadAsync(RuntimeInvocation invocation, CancellationToken cancellationToken) =>
        invocation.InputPayloadPath is { } path ? await File.ReadAllBytesAsync(path, cancellationToken) : null;

    public static JobLimits Limits(RunnerContext context) => new() { Timeout = context.Timeout };
}
