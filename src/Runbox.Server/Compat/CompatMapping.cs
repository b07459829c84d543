using System.Globalization;
using System.Text;
using System.Text.Json;
using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Server.Compat;

/// <summary>The earlier systems' words for states and limits.</summary>
public static class CompatMapping
{
    /// <summary>The tasks API's <c>status</c>: pending | running | success | error; anything but a clean exit 0 is an error.</summary>
    public static string State(JobRecord job) => job.Status switch
    {
        JobStatus.Queued => "pending",
        JobStatus.Running => "running",
        JobStatus.Succeeded => "success",
        _ => "error",
    };

    /// <summary>
    /// <c>GET /status</c>'s <c>state</c>: Pending | Running | Success | Error, capitalized as that service wrote them,
    /// so its clients' comparisons (<c>state == "Success"</c>) hold.
    /// </summary>
    public static string ExecuteState(JobRecord job)
    {
        var state = State(job); // one mapping of Runbox's statuses for both adapters; this one capitalizes it
        return char.ToUpperInvariant(state[0]) + state[1..];
    }

    /// <summary>
    /// Why a task ended other than by its own exit, for the adapters' <c>error</c>: Runbox's error, a limit, a cancel or
    /// a signal (<c>timed_out: wall_time limit exceeded</c>, <c>cancelled</c>). Both adapters fold every such end into
    /// <c>error</c> with no exit code, which alone left a client no way to tell a timeout from a crash. Null while the
    /// task runs and when its exit code says it all.
    /// </summary>
    public static string? Reason(JobRecord job)
    {
        var outcome = job.Outcome;
        if (outcome?.Error is { } error)
        {
            return error;
        }
        if (outcome is { LimitExceeded: not LimitKind.None })
        {
            return $"{job.Status.ToWire()}: {outcome.LimitExceeded.ToWire()} limit exceeded";
        }
        if (job.Status == JobStatus.Cancelled)
        {
            return "cancelled";
        }
        return outcome?.Signal is { } signal ? $"killed by signal {signal}" : null;
    }

    public static TaskResponse ToTask(JobRecord job) => new()
    {
        TaskId = job.Id,
        Status = State(job),
        Language = job.Spec.Language,
        ExitCode = job.Outcome?.ExitCode,
        Stdout = job.Outcome is { } o ? Encoding.UTF8.GetString(o.Stdout) : null,
        Stderr = job.Outcome is { } e ? Encoding.UTF8.GetString(e.Stderr) : null,
        Error = Reason(job),
        CreatedAt = job.CreatedAt,
        StartedAt = job.StartedAt,
        FinishedAt = job.FinishedAt ?? job.Outcome?.FinishedAt,
    };

    /// <summary>
    /// The last event of a task stream whose task was deleted while it streamed: <c>error</c>, the tasks API's one word
    /// for every end but a clean exit (a cancel is one too), with no output, which went with the task.
    /// </summary>
    public static TaskResponse ToDeletedTask(JobRecord lastRead) => ToTask(lastRead) with
    {
        Status = "error",
        ExitCode = null,
        Stdout = null,
        Stderr = null,
        Error = DeletedReason,
    };

    public const string DeletedReason = "deleted: the task was deleted while its stream was open";

    /// <summary>"256m" → 256; "1g" → 1024; "512k" and plain byte counts round up to whole megabytes. Null when unreadable.</summary>
    public static long? ParseMemoryMb(JsonElement value)
    {
        string text;
        if (value.ValueKind == JsonValueKind.Number)
        {
            text = value.GetRawText();
        }
        else if (value.ValueKind == JsonValueKind.String)
        {
            text = value.GetString()!.Trim().ToLowerInvariant();
        }
        else
        {
            return null;
        }
        text = text.TrimEnd('b');
        if (text.EndsWith('i'))
        {
            text = text[..^1];
        }
        double factor = 1.0 / (1024 * 1024);
        if (text.Length > 0 && char.IsLetter(text[^1]))
        {
            factor = text[^1] switch
            {
                'k' => 1.0 / 1024,
                'm' => 1,
                'g' => 1024,
                _ => double.NaN,
            };
            text = text[..^1];
        }
        if (double.IsNaN(factor) || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !(number > 0))
        {
            return null;
        }
        return (long)Math.Ceiling(number * factor);
    }

    public static double? ParseCores(JsonElement value)
    {
        var ok = value.ValueKind switch
        {
            JsonValueKind.Number => value.TryGetDouble(out var n) ? n : (double?)null,
            JsonValueKind.String => double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : null,
            _ => null,
        };
        return ok is > 0 and < 1024 ? ok : null;
    }
}
