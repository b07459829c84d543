namespace Runbox.Execution.Jobs;

/// <summary>Which of a job's output streams a line came from.</summary>
public enum LogStream
{
    /// <summary>Standard output.</summary>
    Stdout,
    /// <summary>Standard error.</summary>
    Stderr,
}

/// <summary>
/// One line of a job's output as it was written. <see cref="Seq"/> counts from 1 across both streams, so clients
/// page and resume by it. <see cref="Text"/> is the line decoded as UTF-8 (invalid bytes replaced); the exact bytes
/// are kept in the result's stdout and stderr, and in <see cref="Bytes"/> when the text lost them. The trailing newline
/// is not part of the text.
/// </summary>
public sealed record LogLine(long Seq, DateTimeOffset Timestamp, LogStream Stream, string Text)
{
    /// <summary>
    /// Whether the job ended this line with a newline. False for the last line of a stream that did not end with one, and
    /// for each piece of a line too long to wait for: what follows it continues the same line. Live only: lines read
    /// back from a store say true.
    /// </summary>
    public bool Ended { get; init; } = true;

    /// <summary>
    /// The line's exact bytes (without its newline) where <see cref="Text"/> could not keep them: bytes that are not
    /// UTF-8, or a character cut in two where the stream or the output limit ended. Null where the text is exact, and on lines read
    /// back from a store. Live only: for a client that writes the output out as it comes (<c>runbox exec</c>).
    /// </summary>
    public byte[]? Bytes { get; init; }

    /// <summary><c>stdout</c> or <c>stderr</c>.</summary>
    public string StreamName => Stream == LogStream.Stdout ? "stdout" : "stderr";
}
