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
    /// <summary>A line longer than this is published in pieces, so one huge line cannot hold memory.</summary>
    private const int MaxLineBytes = 64 * 1024;

    private readonly Lock _lock = new();
    private readonly JobExecution _execution;
    private readonly long _limit;
    private readonly Action _onLimit;
    private readonly MemoryStream _stdout = new();
    private readonly MemoryStream _stderr = new();
    private readonly MemoryStream _stdoutLine = new();
    private readonly MemoryStream _stderrLine = new();
    private long _seq;
    private long _total;
    private bool _limitHit;

    public JobOutput(JobExecution execution, long limit, Action onLimit)
    {
        _execution = execution;
        _limit = limit;
        _onLimit = onLimit;
    }

    public bool StdoutTruncated { get; private set; }

    public bool StderrTruncated { get; private set; }

    public bool LimitHit => _limitHit;

    public byte[] Stdout => _stdout.ToArray();

    public byte[] Stderr => _stderr.ToArray();

    /// <summary>Reads one stream to its end (or until the socket is closed under it).</summary>
    public async Task PumpAsync(Socket socket, LogStream stream)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var count = await socket.ReceiveAsync(buffer, SocketFlags.None);
                if (count == 0)
                {
                    break;
                }
                Append(stream, buffer.AsSpan(0, count));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        Flush(stream);
    }

    private void Append(LogStream stream, ReadOnlySpan<byte> data)
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
                if (stream == LogStream.Stdout)
                {
                    StdoutTruncated = true;
                }
                else
                {
                    StderrTruncated = true;
                }
            }
            _total += data.Length;
            (stream == LogStream.Stdout ? _stdout : _stderr).Write(data);
            var line = stream == LogStream.Stdout ? _stdoutLine : _stderrLine;
            while (data.Length > 0)
            {
                var newline = data.IndexOf((byte)'\n');
                if (newline < 0)
                {
                    line.Write(data);
                    if (line.Length >= MaxLineBytes)
                    {
                        PublishLocked(stream, line, ended: false);
                    }
                    break;
                }
                line.Write(data[..newline]);
                PublishLocked(stream, line, ended: true);
                data = data[(newline + 1)..];
            }
        }
        if (callLimit)
        {
            _onLimit();
        }
    }

    private void Flush(LogStream stream)
    {
        lock (_lock)
        {
            var line = stream == LogStream.Stdout ? _stdoutLine : _stderrLine;
            if (line.Length > 0)
            {
                PublishLocked(stream, line, ended: false);
            }
        }
    }

    private void PublishLocked(LogStream stream, MemoryStream line, bool ended)
    {
        var bytes = line.GetBuffer().AsSpan(0, (int)line.Length);
        var text = Encoding.UTF8.GetString(bytes);
        // Only where the text lost bytes: most lines are valid UTF-8, and a copy of each would double what waits unread.
        var exact = Utf8.IsValid(bytes) ? null : bytes.ToArray();
        line.SetLength(0);
        _execution.Publish(new LogLine(++_seq, DateTimeOffset.UtcNow, stream, text) { Ended = ended, Bytes = exact });
    }
}
