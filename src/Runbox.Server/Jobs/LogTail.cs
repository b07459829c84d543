using Runbox.Execution.Jobs;
using Runbox.Storage;

namespace Runbox.Server.Jobs;

/// <summary>
/// A job's last lines (<c>GET /logs?tail=N</c>), starting at a line boundary: a line stored as pieces
/// (<c>ended: false</c>) is never shown from its middle. Pieces at the start of the tail that go on with a line begun
/// before it are left out, so the tail may hold fewer than N lines.
/// </summary>
public static class LogTail
{
    /// <summary>The most a tail may ask for: the web UI's view keeps 10,000 lines, and opens a job with that many.</summary>
    public const int MaxLines = 10_000;

    /// <summary>
    /// Lines read before the tail to learn whether each stream's line was open there. A line left open across more of
    /// the other stream's lines than this (a prompt waiting through 1,000 stderr lines) is taken as ended.
    /// </summary>
    public const int Lookback = 1000;

    /// <summary>
    /// The last lines, in seq order, whether the job has earlier lines that are not among them, and the seq to follow on
    /// from: the last piece read, shown or not (pieces left out at the tail's end go on with a line begun before it).
    /// </summary>
    public static async Task<(List<LogLine> Lines, bool MoreBefore, long NextSeq)> ReadAsync(IJobStore store, string jobId, int count, CancellationToken cancellationToken)
    {
        var read = await store.ReadLastLogsAsync(jobId, count + Lookback, cancellationToken).ConfigureAwait(false);
        var start = Math.Max(0, read.Count - count);
        // Per stream, whether its last piece before the tail left its line open.
        var open = new HashSet<LogStream>();
        foreach (var line in read.Take(start))
        {
            if (line.Ended)
            {
                open.Remove(line.Stream);
            }
            else
            {
                open.Add(line.Stream);
            }
        }
        var lines = new List<LogLine>(read.Count - start);
        foreach (var line in read.Skip(start))
        {
            if (open.Contains(line.Stream))
            {
                // The rest of a line begun before the tail; its last piece closes it, and the stream's next line is whole.
                if (line.Ended)
                {
                    open.Remove(line.Stream);
                }
                continue;
            }
            lines.Add(line);
        }
        // Not the last line shown: when every piece of the tail went on with an earlier line (a long line still being
        // written), that was 0, and a follower from there replayed the whole output the tail was asked to leave out.
        return (lines, start > 0 || lines.Count < read.Count, read.Count > 0 ? read[^1].Seq : 0);
    }
}
