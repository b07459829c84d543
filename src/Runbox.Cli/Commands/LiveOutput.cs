using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Cli.Commands;

/// <summary>Writes a job's log lines to this process's stdout and stderr as they arrive.</summary>
internal static class LiveOutput
{
    public static async Task<JobResult> WriteAsync(JobExecution execution)
    {
        using var stdout = Console.OpenStandardOutput();
        using var stderr = Console.OpenStandardError();
        // A line's newline is written when the next line of its stream arrives, and the last one only if the
        // job really ended its output with one, so the bytes match what the job wrote.
        bool stdoutOpen = false, stderrOpen = false;
        await foreach (var line in execution.ReadLogsAsync())
        {
            var (stream, open) = line.Stream == LogStream.Stdout ? (stdout, stdoutOpen) : (stderr, stderrOpen);
            if (open)
            {
                stream.WriteByte((byte)'\n');
            }
            stream.Write(Encoding.UTF8.GetBytes(line.Text));
            stream.Flush();
            if (line.Stream == LogStream.Stdout)
            {
                stdoutOpen = true;
            }
            else
            {
                stderrOpen = true;
            }
        }
        var result = await execution.Completion;
        if (stdoutOpen && result.Stdout is [.., (byte)'\n'])
        {
            stdout.WriteByte((byte)'\n');
        }
        if (stderrOpen && result.Stderr is [.., (byte)'\n'])
        {
            stderr.WriteByte((byte)'\n');
        }
        return result;
    }
}
