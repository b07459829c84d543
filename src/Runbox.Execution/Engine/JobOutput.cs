using System.Net.Sockets;
using System.Text;
using System.Text.Unicode;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Engine;

/// <summary>
/// A job's stdout and stderr as they arrive: exact bytes kept up to the output limit (both streams together),
/// cut into log lines published live. Crossing the limit calls <see cref="_onLimit"/> once.
/// </summary>
internal sealed class JobOutput
{
    /// <summary>
    /// A line longer than this is published in pieces of at most this many bytes (its end too), so one huge line cannot
    /// hold memory; a stored line is never longer (docs/api.md).
    /// </summary>
    internal const int MaxLineBytes = 64 * 1024;

    /// <summary>
    /// A line left unfinished (a prompt, progress dots) is published as a piece once its stream has been quiet this
    /// long, so it shows live rather than when its newline comes. Short enough to feel live, long enough that a line
    /// written in a few calls is one piece.
    /// </summary>
    internal static readonly TimeSpan QuietPiece = TimeSpan.FromMilliseconds(200);

    private readonly Lock _lock = new();
    private readonly JobExecution _execution;
    private readonly long _limit;
    private readonly Action _onLimit;
    private readonly StreamBuffer _stdout;
    private readonly StreamBuffer _stderr;
    private long _seq;
    private long _total;
    private bool _limitHit;

    public JobOutput(JobExecution execution, long limit, Action onLimit)
    {
        _execution = execution;
        _limit = limit;
        _onLimit = onLimit;
        _stdout = new StreamBuffer(this, LogStream.Stdout);
        _stderr = new StreamBuffer(this, LogStream.Stderr);
    }

    public bool StdoutTruncated => _stdout.Truncated;

    public bool StderrTruncated => _stderr.Truncated;

    public bool LimitHit => _limitHit;

    public byte[] Stdout => _stdout.All.ToArray();

    public byte[] Stderr => _stderr.All.ToArray();

    /// <summary>Reads one stream to its end (or until the socket is closed under it).</summary>
    public async Task PumpAsync(Socket socket, LogStream stream)
    {
        var state = For(stream);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                // While the reader is behind (JobExecution.MaxUnreadLines), the job's writes wait in its pipe. The
                // stream is not quiet meanwhile: an unfinished line stays whole rather than going out as a piece.
                var room = _execution.WaitForRoomAsync();
                if (!room.IsCompleted)
                {
                    lock (_lock)
                    {
                        state.Held = true;
                    }
                    await room;
                    lock (_lock)
                    {
                        state.Held = false;
                        if (state.Line.Length > 0)
                        {
                            state.ArmQuiet();
                        }
                    }
                }
                var count = await socket.ReceiveAsync(buffer, SocketFlags.None);
                if (count == 0)
                {
                    break;
                }
                Append(state, buffer.AsSpan(0, count));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        lock (_lock)
        {
            state.Close();
            if (state.Line.Length > 0)
            {
                PublishLocked(state, (int)state.Line.Length, ended: false);
            }
        }
    }

    private StreamBuffer For(LogStream stream) => stream == LogStream.Stdout ? _stdout : _stderr;

    private void Append(StreamBuffer state, ReadOnlySpan<byte> data)
    {
        var callLimit = false;
        lock (_lock)
        {
            if (_limitHit)
            {
                return;
            }
            var room = _limit - _total;
            if (data.Length > room)
            {
                data = data[..(int)Math.Max(0, room)];
                _limitHit = true;
                callLimit = true;
                state.Truncated = true;
            }
            _total += data.Length;
            state.All.Write(data);
            state.Writes++;
            var line = state.Line;
            while (data.Length > 0)
            {
                var newline = data.IndexOf((byte)'\n');
                var end = newline < 0 ? data.Length : newline;
                // Up to the cap only: a read (up to 64 KiB) added whole to a line already near it made pieces, and
                // ended lines, of up to 128 KiB.
                var take = Math.Min(end, MaxLineBytes - (int)line.Length);
                line.Write(data[..take]);
                if (take < end || (newline < 0 && line.Length >= MaxLineBytes))
                {
                    PublishLocked(state, WholeCharacters(line.GetBuffer().AsSpan(0, (int)line.Length)), ended: false);
                    data = data[take..];
                    continue;
                }
                if (newline < 0)
                {
                    break;
                }
                PublishLocked(state, (int)line.Length, ended: true);
                data = data[(newline + 1)..];
            }
            if (line.Length > 0)
            {
                state.ArmQuiet();
            }
        }
        if (callLimit)
        {
            _onLimit();
        }
    }

    /// <summary>The stream's timer: publishes its unfinished line if nothing came since the write that armed it.</summary>
    private void OnQuiet(StreamBuffer state)
    {
        lock (_lock)
        {
            if (!state.Closed && !state.Held && state.Writes == state.ArmedAtWrite && state.Line.Length > 0)
            {
                PublishLocked(state, WholeCharacters(state.Line.GetBuffer().AsSpan(0, (int)state.Line.Length)), ended: false);
            }
        }
    }

    /// <summary>
    /// How many of <paramref name="bytes"/> to publish so that no UTF-8 character is cut in two (its pieces would each
    /// decode to U+FFFD): all but a trailing sequence still missing bytes, which waits for the next piece.
    /// </summary>
    internal static int WholeCharacters(ReadOnlySpan<byte> bytes)
    {
        for (var back = 1; back <= Math.Min(3, bytes.Length); back++)
        {
            var b = bytes[^back];
            if ((b & 0xC0) == 0x80)
            {
                continue;
            }
            // A lead byte: 110xxxxx needs 2 bytes, 1110xxxx 3, 11110xxx 4; ASCII or invalid bytes are whole as they are.
            var needs = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
            return needs > back ? bytes.Length - back : bytes.Length;
        }
        return bytes.Length;
    }

    /// <summary>Publishes the first <paramref name="count"/> bytes of the stream's line; the rest stays for the next piece.</summary>
    private void PublishLocked(StreamBuffer state, int count, bool ended)
    {
        if (count == 0 && !ended)
        {
            return;
        }
        var line = state.Line;
        var buffer = line.GetBuffer();
        var bytes = buffer.AsSpan(0, count);
        var text = Encoding.UTF8.GetString(bytes);
        // Only where the text lost bytes: most lines are valid UTF-8, and a copy of each would double what waits unread.
        var exact = Utf8.IsValid(bytes) ? null : bytes.ToArray();
        var rest = (int)line.Length - count;
        Buffer.BlockCopy(buffer, count, buffer, 0, rest);
        line.SetLength(rest);
        _execution.Publish(new LogLine(++_seq, DateTimeOffset.UtcNow, state.Kind, text) { Ended = ended, Bytes = exact });
    }

    private sealed class StreamBuffer(JobOutput output, LogStream kind)
    {
        private Timer? _quiet;

        public LogStream Kind { get; } = kind;

        /// <summary>Every byte kept, for the result.</summary>
        public MemoryStream All { get; } = new();

        /// <summary>The line being written, not yet published.</summary>
        public MemoryStream Line { get; } = new();

        public bool Truncated { get; set; }

        public bool Closed { get; set; }

        /// <summary>Its reads wait for the job's reader to catch up (<see cref="JobExecution.MaxUnreadLines"/>).</summary>
        public bool Held { get; set; }

        /// <summary>Counts appends, so the timer can tell whether anything came since it was armed.</summary>
        public long Writes { get; set; }

        public long ArmedAtWrite { get; private set; }

        /// <summary>Under the output's lock. The timer is made at the first unfinished line only: most jobs end their lines.</summary>
        public void ArmQuiet()
        {
            ArmedAtWrite = Writes;
            _quiet ??= new Timer(_ => output.OnQuiet(this));
            _quiet.Change(QuietPiece, Timeout.InfiniteTimeSpan);
        }

        /// <summary>Under the output's lock, once the stream has ended.</summary>
        public void Close()
        {
            Closed = true;
            _quiet?.Dispose();
        }
    }
}
