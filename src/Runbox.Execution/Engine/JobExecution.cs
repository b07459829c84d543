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
    private readonly Lock _roomLock = new();
    private int _reading;
    private long _unread;
    private int _maxUnreadLines = int.MaxValue;
    private TaskCompletionSource? _room;
    private volatile bool _draining;

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
                OnRead();
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

    /// <summary>
    /// How many lines may wait unread before the job's output waits for the reader: the engine stops reading the job's
    /// stdout and stderr, and the job blocks in its writes, until fewer wait. Unlimited unless set: set it only when
    /// reading every line to the end (a reader that stops would hold the job until its timeout). Bounds the memory of a
    /// job that writes lines faster than they are read, whatever its output limit: each line waiting costs about 130
    /// bytes however short. The bound is loose by one read of each stream (64 KiB, up to as many lines), and once the job
    /// has exited, what is left in its pipes is read without waiting.
    /// </summary>
    public int MaxUnreadLines
    {
        get => _maxUnreadLines;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxUnreadLines = value;
            WakeWriters();
        }
    }

    internal void Publish(LogLine line)
    {
        Interlocked.Increment(ref _unread);
        _lines.Writer.TryWrite(line);
    }

    /// <summary>Completes once fewer than <see cref="MaxUnreadLines"/> lines wait unread, or the job has exited.</summary>
    internal Task WaitForRoomAsync()
    {
        if (_draining || Volatile.Read(ref _unread) < _maxUnreadLines)
        {
            return Task.CompletedTask;
        }
        lock (_roomLock)
        {
            var room = _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // _room is written before _unread is read, and a read decrements _unread before it reads _room: of a read
            // racing this wait, one side sees the other, so the wait never outlives the last line waiting.
            Interlocked.MemoryBarrier();
            if (_draining || Volatile.Read(ref _unread) < _maxUnreadLines)
            {
                _room = null;
                room.TrySetResult();
            }
            return room.Task;
        }
    }

    /// <summary>
    /// The job has exited: its remaining output is read at once (at most what its pipes hold), so none is lost to the
    /// engine's drain timeout while the reader is behind.
    /// </summary>
    internal void Drain()
    {
        _draining = true;
        WakeWriters();
    }

    private void OnRead()
    {
        if (Interlocked.Decrement(ref _unread) < _maxUnreadLines && Volatile.Read(ref _room) is not null)
        {
            WakeWriters();
        }
    }

    private void WakeWriters()
    {
        lock (_roomLock)
        {
            _room?.TrySetResult();
            _room = null;
        }
    }

    internal void Complete(JobResult result)
    {
        Drain();
        _lines.Writer.TryComplete();
        _completion.TrySetResult(result);
    }
}
