namespace Runbox.Execution.Jobs;

public enum LogStream
{
    Stdout,
    Stderr,
}

/// <summary>
/// One line of a job's output as it was written. <see cref="Seq"/> counts from 1 across both streams, so clients
/// page and resume by it. <see cref="Text"/> is the line decoded as UTF-8 (invalid bytes replaced); the exact bytes
/// are kept in the result's stdout and stderr. The trailing newline is not part of the text.
/// </summary>
public sealed record LogLine(long Seq, DateTimeOffset Timestamp, LogStream Stream, string Text)
{
    /// <summary>
    /// Whether the job ended this line with a newline. False for the last line of a stream that did not end with one, and
    /// for each piece of a line too long to wait for: what follows it continues the same line. Live only: lines read
    /// back from a store say true.
    /// </summary>
    public bool Ended { get; init; } = true;

    public string StreamName => Stream == LogStream.Stdout ? "stdout" : "stderr";
}
