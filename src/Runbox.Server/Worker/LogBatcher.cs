using System.Threading.Channels;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Storage;

namespace Runbox.Server.Worker;

/// <summary>
/// Moves a running job's lines into the store in batches (up to <see cref="MaxBatch"/> lines, or what came within
/// <see cref="Window"/>), so a chatty job costs a few writes a second rather than one per line.
/// </summary>
internal static class LogBatcher
{
    public const int MaxBatch = 100;

    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Returns once the job's output has ended and every line was handed to the store. A batch the store refuses is
    /// retried for up to <paramref name="patience"/> (a lease: see <see cref="StoreRetry"/>), the lines after it
    /// waiting in memory meanwhile; only then is it dropped.
    /// </summary>
    public static async Task PumpAsync(JobExecution execution, string jobId, IJobStore store, TimeSpan patience, TimeProvider time, ILogger logger)
    {
        // Not SingleReader: that variant cannot count what is waiting, which the batching needs.
        var channel = Channel.CreateUnbounded<LogLine>(new UnboundedChannelOptions { SingleWriter = true });
        var reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var line in execution.ReadLogsAsync())
                {
                    channel.Writer.TryWrite(line);
                }
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        });

        var batch = new List<LogLine>(MaxBatch);
        var reader = channel.Reader;
        while (await reader.WaitToReadAsync())
        {
            // Let a burst gather for one window unless a full batch is already waiting or the output has ended.
            // Not reader.Completion: that completes only once the lines are read too, so it always cost the
            // whole window (50 ms on every job's result).
            if (reader.Count < MaxBatch && !reading.IsCompleted)
            {
                await Task.WhenAny(Task.Delay(Window), reading);
            }
            while (reader.TryRead(out var line))
            {
                batch.Add(line);
                if (batch.Count == MaxBatch)
                {
                    await AppendAsync(store, jobId, batch, patience, time, logger);
                }
            }
            if (batch.Count > 0)
            {
                await AppendAsync(store, jobId, batch, patience, time, logger);
            }
        }
        await reading;
    }

    private static async Task AppendAsync(IJobStore store, string jobId, List<LogLine> batch, TimeSpan patience, TimeProvider time, ILogger logger)
    {
        var lines = batch.ToArray();
        batch.Clear();
        try
        {
            // A batch the store took before its answer was lost is not stored twice: lines are keyed by seq.
            await StoreRetry.ForAsync(() => store.AppendLogsAsync(jobId, lines), patience, time, (e, attempt) =>
            {
                if (attempt == 1)
                {
                    ServerLog.LogAppendFault(logger, jobId, e);
                }
            });
        }
        catch (Exception e)
        {
            // The lines stay in the result's stdout/stderr; only the live view and the logs endpoint miss them.
            ServerLog.LogAppendDropped(logger, jobId, lines.Length, e);
        }
    }
}
