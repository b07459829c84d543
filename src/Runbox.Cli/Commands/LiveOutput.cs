using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Cli.Commands;

/// <summary>Writes a job's log lines to this process's stdout and stderr as they arrive.</summary>
internal static class LiveOutput
{
    /// <summary>
    /// The job's result, or null when stdout was closed (<c>| head</c>): the job is cancelled then, as the script itself
    /// would have died of SIGPIPE. A stdout that is no pipe failing a write (a full disk) stops the job too, and throws.
    /// </summary>
    public static async Task<JobResult?> WriteAsync(JobExecution execution)
    {
        using var stdout = StandardOutput.Open();
        using var stderr = Console.OpenStandardError();
        await foreach (var line in execution.ReadLogsAsync())
        {
            var stream = line.Stream == LogStream.Stdout ? stdout : stderr;
            // Each line with its newline at once (so lines of the two streams interleave whole on a terminal), and none
            // where the job wrote none: the output comes out byte for byte as written, bytes that are not UTF-8 too.
            var bytes = line.Bytes ?? Encoding.UTF8.GetBytes(line.Text);
            try
            {
                stream.Write(line.Ended ? [.. bytes, (byte)'\n'] : bytes);
                stream.Flush();
            }
            catch (IOException) when (stream == stdout)
            {
                execution.Cancel();
                await execution.Completion;
                if (!StandardOutput.CanLoseItsReader)
                {
                    throw; // a full disk, not a reader gone: the caller says so
                }
                return null;
            }
        }
        return await execution.Completion;
    }
}
