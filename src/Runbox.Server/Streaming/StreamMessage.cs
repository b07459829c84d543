using System.Text.Json.Serialization;
using Runbox.Server.Jobs;

namespace Runbox.Server.Streaming;

/// <summary>
/// A WebSocket text message: <c>type</c> "log" with the line's fields, or "result" with the ended job; each carries only
/// its own fields.
/// </summary>
public sealed record StreamMessage
{
    public required string Type { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Seq { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? Timestamp { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Stream { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Text { get; init; }

    /// <summary>False for a line the job left unfinished (see <see cref="LogLineResponse"/>); absent otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Ended { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JobResponse? Job { get; init; }
}
