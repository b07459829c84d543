using Runbox.Server.Jobs;

namespace Runbox.Server.Streaming;

/// <summary>A WebSocket text message: <c>type</c> "log" with the line's fields, or "result" with the ended job.</summary>
public sealed record StreamMessage
{
    public required string Type { get; init; }

    public long? Seq { get; init; }

    public DateTimeOffset? Timestamp { get; init; }

    public string? Stream { get; init; }

    public string? Text { get; init; }

    public JobResponse? Job { get; init; }
}
