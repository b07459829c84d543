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
    /// Every line the job writes, from its first, live, ending when the job ends. One reader; the lines wait
    /// (bounded by the output limit) until it reads them.
    /// </summary>
    public async IAsyncEnumerable<LogLine> ReadLogsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var line in _lines.Reader.ReadAllAsync(cancellationToken))
        {
            yield return line;
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
