using System.Globalization;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Invocations;

/// <summary>Runs a <see cref="JobRequest"/> through the engine for the subprocess and python runners and translates the result.</summary>
internal static class EngineJobs
{
    public static async Task<RuntimeResult> RunAsync(IJobEngine engine, JobRequest request, RunnerContext context, CancellationToken cancellationToken)
    {
        var before = request.WorkingDirectory is { } directory ? WorkingDirectorySnapshot.Take(directory) : null;
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
        return await TranslateAsync(job, request, before, context);
    }

    private static async Task PumpLogsAsync(JobExecution execution, RunnerContext context)
    {
        // The engine keeps lines until they are read, so they are read to the end whether or not anyone listens.
        await foreach (var line in execution.ReadLogsAsync(CancellationToken.None))
        {
            context.Report(line.Stream, line.Text, line.Ended, line.Bytes);
        }
    }

    private static async Task<RuntimeResult> TranslateAsync(JobResult job, JobRequest request, WorkingDirectorySnapshot? before, RunnerContext context)
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
        var artifacts = Artifacts(job, request, before, context);

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

    /// <summary>What the job produced: not our stdout and stderr files, not files it left as they were.</summary>
    private static ArtifactDescriptor[] Artifacts(JobResult job, JobRequest request, WorkingDirectorySnapshot? before, RunnerContext context)
    {
        var ours = new HashSet<string>([Path.GetFullPath(context.StdoutPath), Path.GetFullPath(context.StderrPath)]);
        var produced = new List<ArtifactDescriptor>();
        foreach (var artifact in job.Artifacts)
        {
            if (artifact.Path.Length > 0 && ours.Contains(Path.GetFullPath(artifact.Path)))
            {
                continue;
            }
            if (before is not null && before.Unchanged(artifact.Name, request.WorkingDirectory!))
            {
                // The engine copied it out; a copy in the artifact directory (never the original) is removed.
                if (request.ArtifactDirectory is not null && artifact.Path.Length > 0 && IsInside(artifact.Path, request.ArtifactDirectory))
                {
                    File.Delete(artifact.Path);
                }
                continue;
            }
            produced.Add(new ArtifactDescriptor(
                artifact.Name,
                artifact.Path,
                "file",
                Metadata: new Dictionary<string, string> { ["size"] = artifact.Size.ToString(CultureInfo.InvariantCulture) }));
        }
        return [.. produced];
    }

    /// <summary>
    /// Where the engine should copy artifacts: the invocation's output directory, unless that is the working
    /// directory or inside it, where a copy could land on the file being copied; then they are listed in place.
    /// </summary>
    public static string? ArtifactCopyDirectory(string? workingDirectory, RunnerContext context) =>
        workingDirectory is not null && (Same(context.OutputDirectory, workingDirectory) || IsInside(context.OutputDirectory, workingDirectory))
            ? null
            : context.OutputDirectory;

    private static bool Same(string a, string b) =>
        Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)) == Path.TrimEndingDirectorySeparator(Path.GetFullPath(b));

    private static bool IsInside(string path, string directory)
    {
        var relative = Path.GetRelativePath(Path.GetFullPath(directory), Path.GetFullPath(path));
        return relative != "." && relative != ".." && !relative.StartsWith($"..{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && !Path.IsPathRooted(relative);
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

    /// <summary>
    /// The invocation's input file, for the job's <see cref="JobRequest.StdinStream"/>: read as the job reads it, never
    /// whole in memory (a file of gigabytes, or a FIFO another program is still writing). Disposed by the caller after the run.
    /// </summary>
    public static FileStream? OpenPayload(RuntimeInvocation invocation) =>
        invocation.InputPayloadPath is { } path
            ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan)
            : null;

    public static JobLimits Limits(RunnerContext context) => new() { Timeout = context.Timeout };
}
