using System.Text.Json;
using Runbox.Server.Jobs;

namespace Runbox.Server.Compat;

// The shapes of the earlier systems' APIs, kept exactly so their clients work unchanged.

public sealed record ExecuteRequest
{
    public string? Script { get; init; }

    public string? Language { get; init; }
}

public sealed record TaskIdResponse(string TaskId);

/// <summary><c>error</c>: why the task ended other than by its own exit (a limit, a cancel, a signal, Runbox's error), else null.</summary>
public sealed record StatusResult(int? ExitCode, string Stdout, string Stderr, string? Error);

/// <summary><c>state</c>: Pending, Running, Success or Error (a non-zero exit is an error).</summary>
public sealed record StatusResponse(string TaskId, string State, StatusResult? Result);

public sealed record TaskCreateRequest
{
    public string? Code { get; init; }

    public string? Language { get; init; }

    /// <summary>CPU cores, as a number or a string ("0.5"); with the timeout it bounds the CPU seconds.</summary>
    public JsonElement? CpuLimit { get; init; }

    /// <summary>"256m", "1g", "512k" or a number of bytes.</summary>
    public JsonElement? MemoryLimit { get; init; }

    /// <summary>Seconds of wall time.</summary>
    public double? Timeout { get; init; }
}

public sealed record TaskResponse
{
    public required string TaskId { get; init; }

    public required string Status { get; init; }

    public required string Language { get; init; }

    public int? ExitCode { get; init; }

    public string? Stdout { get; init; }

    public string? Stderr { get; init; }

    /// <summary>Why the task ended other than by its own exit (see <see cref="CompatMapping.Reason"/>), else null.</summary>
    public string? Error { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }
}

public sealed record TaskListResponse(List<TaskResponse> Tasks);

/// <summary>
/// <c>logs</c>: the first lines (at most <see cref="CompatApi.MaxLogLines"/>); <c>done</c> is false while the task runs or
/// when more lines follow <c>next_seq</c> (<c>GET /api/v1/jobs/{id}/logs?after_seq=</c>). <c>stdout</c> and <c>stderr</c>
/// are the whole output once the task ended.
/// </summary>
public sealed record TaskLogsResponse(string TaskId, string Status, List<LogLineResponse> Logs, string Stdout, string Stderr, long NextSeq, bool Done);

public sealed record TaskMetricsResponse(
    string TaskId,
    string Status,
    double? CpuTimeSeconds,
    long? CpuUserMs,
    long? CpuSystemMs,
    long? MemoryPeakBytes,
    double? MemoryPeakMb,
    double? WallTimeSeconds);
