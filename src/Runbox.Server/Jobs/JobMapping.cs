using System.Text;
using Runbox.Execution.Jobs;
using Runbox.Storage.Artifacts;
using Runbox.Storage.Jobs;

namespace Runbox.Server.Jobs;

/// <summary>Between the store's records and the API's shapes.</summary>
public static class JobMapping
{
    /// <param name="withSubmission">Adds the script, args and stdin (a single job's page re-runs it; lists stay small).</param>
    public static JobResponse ToResponse(this JobRecord job, IReadOnlyList<ArtifactRecord>? artifacts = null, bool withSubmission = false)
    {
        var outcome = job.Outcome;
        var spec = job.Spec;
        var submitted = withSubmission ? Submitted(job) : null;
        return new JobResponse
        {
            Id = job.Id,
            Owner = job.Owner,
            Status = job.Status.ToWire(),
            Language = spec.Language,
            Runtime = spec.Runtime,
            Entrypoint = spec.Entrypoint,
            Limits = new JobLimitsBody
            {
                TimeoutSeconds = spec.TimeoutSeconds,
                CpuSeconds = spec.CpuSeconds,
                MemoryMb = spec.MemoryMb,
                Processes = spec.Processes,
                OutputBytes = spec.OutputBytes,
                FileSizeMb = spec.FileSizeMb,
                DiskMb = spec.DiskMb,
            },
            Network = spec.Network,
            CallbackUrl = spec.CallbackUrl,
            CreatedAt = job.CreatedAt,
            StartedAt = job.StartedAt,
            FinishedAt = job.FinishedAt ?? outcome?.FinishedAt,
            Attempt = job.Attempt,
            MaxAttempts = spec.MaxAttempts,
            Worker = job.Worker,
            CancelRequested = job.CancelRequested,
            ExitCode = outcome?.ExitCode,
            Signal = outcome?.Signal,
            LimitExceeded = outcome?.LimitExceeded.ToWire(),
            // Null where the output was not read (a listed job): "" would say the job printed nothing.
            Stdout = outcome is null || outcome.OutputLeftOut ? null : Decode(outcome.Stdout),
            Stderr = outcome is null || outcome.OutputLeftOut ? null : Decode(outcome.Stderr),
            StdoutTruncated = outcome?.StdoutTruncated ?? false,
            StderrTruncated = outcome?.StderrTruncated ?? false,
            WallMs = outcome?.WallMs,
            CpuUserMs = outcome?.CpuUserMs,
            CpuSystemMs = outcome?.CpuSystemMs,
            PeakMemoryBytes = outcome?.PeakMemoryBytes,
            Error = outcome?.Error,
            Artifacts = artifacts?.Select(a => a.ToResponse()).ToList(),
            Script = submitted?.Script,
            Args = submitted?.Args.ToList(),
            Stdin = submitted?.Stdin is { } stdin ? Decode(stdin) : null,
        };
    }

    /// <summary>
    /// The <c>result</c> of a live stream whose job was deleted while it streamed (<c>/events</c>, <c>/ws</c>,
    /// <c>/sse/session</c>), or the answer to a <c>?wait=true</c> submit whose job was deleted while it waited: the job as
    /// last read, ended <c>cancelled</c> (a delete cancels a running job, and a queued one never starts) with
    /// <paramref name="reason"/> as its error; no exit code or output, which went with the job.
    /// </summary>
    public static JobResponse ToDeletedResponse(this JobRecord lastRead, string reason = DeletedReason) => lastRead.ToResponse() with
    {
        Status = JobStatus.Cancelled.ToWire(),
        CancelRequested = true,
        ExitCode = null,
        Signal = null,
        Stdout = null,
        Stderr = null,
        Error = reason,
    };

    public const string DeletedReason = "deleted: the job was deleted while its stream was open";

    public const string DeletedWhileWaitedReason = "deleted: the job was deleted while the request waited for it";

    public static ArtifactResponse ToResponse(this ArtifactRecord artifact) => new(
        artifact.Name,
        artifact.Size,
        artifact.CreatedAt,
        $"/api/v1/jobs/{artifact.JobId}/artifacts/{Uri.EscapeDataString(artifact.Name).Replace("%2F", "/", StringComparison.Ordinal)}");

    public static LogLineResponse ToResponse(this LogLine line) => new(line.Seq, line.Timestamp, line.StreamName, line.Text, line.Ended ? null : false);

    /// <summary>One stream's lines as the job wrote them: a piece of a line (<c>Ended</c> false) runs on into the next.</summary>
    public static string TextOf(IEnumerable<LogLine> lines, LogStream stream) =>
        string.Concat(lines.Where(l => l.Stream == stream).Select(l => l.Ended ? l.Text + "\n" : l.Text));

    /// <summary>The shell's view of how it ended: the exit code, 128 + signal, or 1 when it never ran.</summary>
    public static int ShellExitCode(this JobResponse job) => job.ExitCode ?? (job.Signal is { } s ? 128 + s : 1);

    // A record read without its submission has none to show: a caller asking for it read the job the wrong way.
    private static JobSpec Submitted(JobRecord job) => job.SubmissionLeftOut
        ? throw new InvalidOperationException($"Job {job.Id} was read without its submission.")
        : job.Spec;

    // Invalid UTF-8 becomes U+FFFD here; clients that need the exact bytes read /stdout and /stderr.
    private static string Decode(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
