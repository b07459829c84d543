using Microsoft.Win32.SafeHandles;

namespace Runbox.Cli.Commands;

/// <summary>
/// This process's stdout as a stream whose writes fail with an <see cref="IOException"/> once nothing reads it any
/// more, as in <c>runbox run job.py | head -2</c> once head has exited. .NET ignores SIGPIPE and its console stream
/// drops the EPIPE error, so through <see cref="Console.Out"/> a command would go on writing into nothing until the
/// job ended (its timeout, for a job that never ends) instead of stopping as a local program does.
/// </summary>
internal static class StandardOutput
{
    /// <summary>The exit code of a command that stopped because its stdout was closed: 128+SIGPIPE, as a shell reports a program SIGPIPE ended.</summary>
    public const int ReaderGoneExitCode = 141;

    /// <summary>
    /// Stdout is a pipe or a socket: only those lose their reader, so only there is a failed write the reader gone.
    /// Elsewhere (a file on a full disk, /dev/full) it is an error to report.
    /// </summary>
    public static bool CanLoseItsReader =>
        ReadsFrom() is { } target && (target.StartsWith("pipe:", StringComparison.Ordinal) || target.StartsWith("socket:", StringComparison.Ordinal));

    public static Stream Open()
    {
        // Only a pipe or a socket loses its reader, and only those are written through a FileStream (with write(2), as
        // the console does). One over a regular file (`> out 2>&1`) would write at an offset of its own and overwrite
        // what stderr wrote there; a terminal is left to the console's stream as before.
        if (CanLoseItsReader)
        {
            return new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        }
        return Console.OpenStandardOutput();
    }

    /// <summary><see cref="Open"/> as text, UTF-8 without a byte-order mark, for a job's log lines.</summary>
    public static StreamWriter OpenText() => new(Open(), new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false));

    /// <summary>What fd 1 is, as Linux names it: "pipe:[1234]", "socket:[1234]", "/dev/pts/0", a file's path; null when closed.</summary>
    private static string? ReadsFrom()
    {
        try
        {
            return new FileInfo("/proc/self/fd/1").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
