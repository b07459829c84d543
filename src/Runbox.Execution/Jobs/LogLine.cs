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
    public string StreamName => Stream == LogStream.Stdout ? "stdout" : "stderr";
}
