using System.Threading.Channels;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Storage.Claims;

namespace Runbox.Server.Worker;

/// <summary>
/// Moves a running job's lines into the store in batches, so a chatty job costs a few writes a second rather than one
/// per line. A batch is whatever waits when the previous write returns, up to <see cref="MaxBatchLines"/> lines and
/// <see cref="MaxBatchChars"/> characters of text: a job writing faster than the store takes gets batches that grow with
/// its backlog (each write's cost — a commit, a sync to disk, a round trip — is paid per batch, not per line). When
/// fewer than <see cref="Burst"/> lines wait, a burst may gather for <see cref="Window"/> first: a quiet job's line is
/// stored within that window.
/// </summary>
internal static class LogBatcher
{
    /// <summary>
    /// Most lines in one append (one transaction). At 100 lines a batch, 500,000 short lines took 5,000 commits — most
    /// of the job's 4 to 30 s to its result; at this size they take about a hundred.
    /// </summary>
    public const int MaxBatchLines = 5000;

    /// <summary>
    /// Most characters of text in one append (plus the line that crosses it), so long lines make smaller batches:
    /// a write holds the store's single writer (SQLite) and a batch's text is held in memory until it is stored.
    /// </summary>
    public const int MaxBatchChars = 1024 * 1024;

    /// <summary>Fewer lines than this waiting: let a burst gather for one <see cref="Window"/> before writing.</summary>
    public const int Burst = 100;

    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Most lines waiting for the store here, and again in the job's <see cref="JobExecution"/>, before the job's output
    /// waits (the job blocks in its writes) until the store catches up. Without it the lines of a job writing faster
    /// than the store takes waited in memory up to the job's output limit, at about 130 bytes a line however short:
    /// 64 MiB of newlines, several GB. With it at most about 100 MB (docs/storage.md, "Log lines"), and a job less than
    /// 200,000 lines ahead of the store is never held.
    /// </summary>
    public const int MaxWaitingLines = 100_000;

    /// <summary>
    /// Returns once the job's output has ended and every line was handed to the store. A batch that fails (the store
    /// unreachable) is retried for up to <paramref name="patience"/> (a lease: see <see cref="StoreRetry"/>), the lines
    /// after it waiting in memory meanwhile; only then is it dropped. Lines are appended through the claim, fenced on
    /// its lease: once a batch is refused the run has lost the job (<paramref name="hold"/> stops it) and the rest of
    /// its output is read and dropped.
    /// </summary>
    public static async Task PumpAsync(JobExecution execution, IJobClaim claim, RunHold hold, TimeSpan patience, TimeProvider time, ILogger logger)
    {
        // Bounded, as the job's own queue: while both are full the job's writes wait (MaxWaitingLines).
        var channel = Channel.CreateBounded<LogLine>(new BoundedChannelOptions(MaxWaitingLines) { SingleWriter = true });
        execution.MaxUnreadLines = MaxWaitingLines;
        var reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var line in execution.ReadLogsAsync())
                {
                    if (!channel.Writer.TryWrite(line))
                    {
                        await channel.Writer.WriteAsync(line);
                    }
                }
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        });

        var batch = new List<LogLine>(Burst);
        var chars = 0;
        var reader = channel.Reader;
        while (await reader.WaitToReadAsync())
        {
            // Let a burst gather for one window unless a burst is already waiting or the output has ended.
            // Not reader.Completion: that completes only once the lines are read too, so it always cost the
            // whole window (50 ms on every job's result).
            if (reader.Count < Burst && !reading.IsCompleted)
            {
                await Task.WhenAny(Task.Delay(Window), reading);
            }
            while (reader.TryRead(out var line))
            {
                batch.Add(line);
                chars += line.Text.Length;
                if (batch.Count == MaxBatchLines || chars >= MaxBatchChars)
                {
                    await AppendAsync(claim, hold, batch, patience, time, logger);
                    chars = 0;
                }
            }
            if (batch.Count > 0)
            {
                await AppendAsync(claim, hold, batch, patience, time, logger);
                chars = 0;
            }
        }
        await reading;
    }

    private static async Task AppendAsync(IJobClaim claim, RunHold hold, List<LogLine> batch, TimeSpan patience, TimeProvider time, ILogger logger)
    {
        var lines = batch.ToArray();
        batch.Clear();
        if (hold.IsLost)
        {
            return;
        }
        var jobId = claim.Job.Id;
        try
        {
            // A batch the store took before its answer was lost is not stored twice: lines are keyed by seq.
            var held = await StoreRetry.ForAsync(() => claim.AppendLogsAsync(lines), patience, time, (e, attempt) =>
            {
                if (attempt == 1)
                {
                    ServerLog.LogAppendFault(logger, jobId, e);
                }
            });
            if (!held)
            {
                hold.Lose();
            }
        }
        catch (Exception e)
        {
            // The lines stay in the result's stdout/stderr; only the live view and the logs endpoint miss them.
            ServerLog.LogAppendDropped(logger, jobId, lines.Length, e);
        }
    }
}
