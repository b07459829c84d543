namespace Runbox.Execution.Jobs;

/// <summary>Where a job is in its life. The engine only ever reports the terminal ones.</summary>
public enum JobStatus
{
    Queued,
    Running,
    Succeeded,
    /// <summary>Non-zero exit or killed by a signal.</summary>
    Failed,
    /// <summary>Wall or CPU time limit.</summary>
    TimedOut,
    Cancelled,
    /// <summary>Runbox could not run it (unknown runtime, worker lost, internal fault).</summary>
    Error,
}

public static class JobStatusExtensions
{
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
