using System.Runtime.CompilerServices;
using Runbox.Execution.Jobs;
using Runbox.Storage;
using Runbox.Storage.Jobs;

namespace Runbox.Server.Streaming;

/// <summary>
/// One thing a live subscriber receives: a log line, or (last) the ended job, or (last) the job as last read when it
/// was deleted while streamed.
/// </summary>
public readonly record struct JobEvent(LogLine? Line, JobRecord? Final, JobRecord? Deleted = null);

/// <summary>
/// A job's lines after a sequence number, then live as they come, then the final job. A subscriber that joins late
/// is replayed what it missed from the store, so SSE, WebSocket and resume all read the same way.
/// </summary>
public static class JobEventFeed
{
    private const int PageSize = 500;

    /// <param name="found">The job as the caller found it before streaming, reported if it is deleted before a read here.</param>
    public static async IAsyncEnumerable<JobEvent> ReadAsync(
        IJobStore store, string jobId, long afterSeq, [EnumeratorCancellation] CancellationToken cancellationToken, JobRecord? found = null)
    {
        var after = afterSeq;
        var known = found;
        while (true)
        {
            // Waiting starts before the reads, so lines or an end stored meanwhile wake the next round at once.
            var changed = store.WaitForJobChangeAsync(jobId, TimeSpan.FromSeconds(2), cancellationToken);
            // Read the status before the lines: lines are stored before the outcome, so once a terminal status was
            // seen, the read that follows it holds every line there will ever be.
            // Without the output, which only the result needs: a poll every 2 s of a job ended with tens of megabytes read
            // them all each time.
            var job = await store.GetJobAsync(jobId, withOutput: false, withSubmission: false, cancellationToken);
            if (job is null)
            {
                // Deleted while streamed: said, so that a surface can end its stream with an end of its own.
                if (known is not null)
                {
                    yield return new JobEvent(null, null, known);
                }
                yield break;
            }
            known = job;
            IReadOnlyList<LogLine> lines;
            do
            {
                lines = await store.ReadLogsAsync(jobId, after, PageSize, cancellationToken);
                foreach (var line in lines)
                {
                    after = line.Seq;
                    yield return new JobEvent(line, null);
                }
            }
            while (lines.Count == PageSize);

            if (job.Status.IsTerminal())
            {
                // Ended: read once more, with the output, for the result (a delete in between ends the stream as one does).
                var ended = await store.GetJobAsync(jobId, withOutput: true, withSubmission: false, cancellationToken);
                yield return ended is null ? new JobEvent(null, null, known) : new JobEvent(null, ended);
                yield break;
            }
            await changed;
        }
    }
}
