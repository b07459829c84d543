using System.Text.Json.Serialization;

namespace Runbox.Execution.Invocations;

/// <summary>How an invocation ended. The JSON form is the snake_case word (<c>timed_out</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RuntimeStatus>))]
public enum RuntimeStatus
{
    /// <summary>Ran and reported success (exit code 0, HTTP 2xx, a success state).</summary>
    [JsonStringEnumMemberName("succeeded")]
    Succeeded,

    /// <summary>Ran and reported failure (non-zero exit, killed by a signal, HTTP error, a failure state).</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>The invocation's deadline (<see cref="RuntimeInvocation.TimeoutSeconds"/>) ended it.</summary>
    [JsonStringEnumMemberName("timed_out")]
    TimedOut,

    /// <summary>The caller cancelled it.</summary>
    [JsonStringEnumMemberName("cancelled")]
    Cancelled,

    /// <summary>It never ran: invalid invocation, unknown kind, missing directory or file, engine refusal.</summary>
    [JsonStringEnumMemberName("rejected")]
    Rejected,
}

/// <summary>The words for <see cref="RuntimeStatus"/>.</summary>
public static class RuntimeStatusExtensions
{
    /// <summary>The word used in the JSON result and in docs.</summary>
    public static string ToWire(this RuntimeStatus status) => status switch
    {
        RuntimeStatus.Succeeded => "succeeded",
        RuntimeStatus.Failed => "failed",
        RuntimeStatus.TimedOut => "timed_out",
        RuntimeStatus.Cancelled => "cancelled",
        _ => "rejected",
    };
}
