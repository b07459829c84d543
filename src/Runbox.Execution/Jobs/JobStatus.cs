namespace Runbox.Execution.Jobs;

/// <summary>Where a job is in its life. The engine only ever reports the terminal ones.</summary>
public enum JobStatus
{
    /// <summary>Waiting to run (the server's queue; the engine never reports it).</summary>
    Queued,
    /// <summary>Running (the server's; the engine never reports it).</summary>
    Running,
    /// <summary>Exited with code 0.</summary>
    Succeeded,
    /// <summary>Non-zero exit or killed by a signal.</summary>
    Failed,
    /// <summary>Wall or CPU time limit.</summary>
    TimedOut,
    /// <summary>Cancelled by <see cref="Engine.JobExecution.Cancel"/>, a cancelled token, or the engine's disposal.</summary>
    Cancelled,
    /// <summary>Runbox could not run it (unknown runtime, worker lost, internal fault).</summary>
    Error,
}

/// <summary>The words for <see cref="JobStatus"/>.</summary>
public static class JobStatusExtensions
{
    /// <summary>Whether the job has ended.</summary>
    public static bool IsTerminal(this JobStatus status) => status is not (JobStatus.Queued or JobStatus.Running);

    /// <summary>The snake_case word used on every wire format and in the UI.</summary>
    public static string ToWire(this JobStatus status) => status switch
    {
        JobStatus.Queued => "queued",
        JobStatus.Running => "running",
        JobStatus.Succeeded => "succeeded",
        JobStatus.Failed => "failed",
        JobStatus.TimedOut => "timed_out",
        JobStatus.Cancelled => "cancelled",
        _ => "error",
    };

    /// <summary>Reads a word written by <see cref="ToWire"/>.</summary>
    public static bool TryParseWire(string? text, out JobStatus status)
    {
        foreach (var candidate in Enum.GetValues<JobStatus>())
        {
            if (candidate.ToWire() == text)
            {
                status = candidate;
                return true;
            }
        }
        status = default;
        return false;
    }
}
