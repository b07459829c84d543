using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Engine;

/// <summary>A started job: its live output and, when it ends, its result.</summary>
public sealed class JobExecution
{
    private readonly Channel<LogLine> _lines = Channel.CreateUnbounded<LogLine>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = true });
    private readonly TaskCompletionSource<JobResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _cancel = new();
    private int _reading;

    internal JobExecution(string id)
    {
        Id = id;
    }

    /// <summary>The job's id: the request's, or one the engine generated.</summary>
    public string Id { get; }

    /// <summary>Completes when the job has ended and everything it started is gone.</summary>
    public Task<JobResult> Completion => _completion.Task;

    internal CancellationToken CancelRequested => _cancel.Token;

    /// <summary>
    /// Every line the job writes, from its first, live, ending when the job ends. One reader at a time: a reader that
    /// stops early and reads again goes on where it stopped; a second reader at the same time throws
    /// <see cref="InvalidOperationException"/>. The lines wait (bounded by the output limit) until they are read.
    /// </summary>
    public async IAsyncEnumerable<LogLine> ReadLogsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // The channel has a single reader: a second one at once made the first end with an OperationCanceledException
        // that nobody had asked for.
        if (Interlocked.Exchange(ref _reading, 1) != 0)
        {
            throw new InvalidOperationException($"The lines of job {Id} are being read already: ReadLogsAsync has one reader at a time.");
        }
        try
        {
            await foreach (var line in _lines.Reader.ReadAllAsync(cancellationToken))
            {
                yield return line;
            }
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    /// <summary>Kills the job and everything it started; it ends as cancelled. Does nothing once it has ended.</summary>
    public void Cancel()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    internal void Publish(LogLine line) => _lines.Writer.TryWrite(line);

    internal void Complete(JobResult result)
    {
        _lines.Writer.TryComplete();
        _completion.TrySetResult(result);
    }
}
