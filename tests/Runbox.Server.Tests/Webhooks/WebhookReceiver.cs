using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Runbox.Server.Tests.Webhooks;

/// <summary>
/// A tiny HTTP receiver on 127.0.0.1, one connection at a time, answering each post with the status
/// <c>statusOf(attempt)</c> gives (attempts count from 1); with <c>endlessBody</c> a 2xx answer is followed by a body
/// that never ends, until the sender hangs up; a status of 0 never answers (the connection stays open until the
/// receiver is disposed); with <c>location</c> every answer carries that Location header.
/// </summary>
internal sealed class WebhookReceiver : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<int, int> _statusOf;
    private readonly bool _endlessBody;
    private readonly string? _location;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _attempts;

    public WebhookReceiver(int failFirst)
        : this(attempt => attempt > failFirst ? 200 : 500)
    {
    }

    public WebhookReceiver(Func<int, int> statusOf, bool endlessBody = false, string? location = null)
    {
        _statusOf = statusOf;
        _endlessBody = endlessBody;
        _location = location;
        _listener.Start();
        _ = Task.Run(AcceptAsync);
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/hook";

    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>Every post received, in order, whatever was answered.</summary>
    public ConcurrentQueue<(byte[] Body, Dictionary<string, string> Headers)> Received { get; } = new();

    /// <summary>The first post answered with a 2xx.</summary>
    public TaskCompletionSource<(byte[] Body, Dictionary<string, string> Headers)> Delivered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose()
    {
        _listener.Stop();
        _stopped.TrySetResult();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync();
            }
            catch (Exception)
            {
                return;
            }
            using (client)
            {
                try
                {
                    await AnswerAsync(client.GetStream());
                }
                catch (Exception e) when (e is IOException or SocketException)
                {
                    // The sender hung up (an endless body it stopped reading): next connection.
                }
            }
        }
    }

    private async Task AnswerAsync(NetworkStream stream)
    {
        var (headers, body) = await ReadRequestAsync(stream);
        var attempt = Interlocked.Increment(ref _attempts);
        Received.Enqueue((body, headers));
        var status = _statusOf(attempt);
        if (status == 0)
        {
            await _stopped.Task;
            return;
        }
        var ok = status is >= 200 and < 300;
        if (ok && _endlessBody)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} OK\r\nContent-Length: 1000000000\r\n\r\n"));
            Delivered.TrySetResult((body, headers));
            var chunk = new byte[64 * 1024];
            for (var until = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < until;)
            {
                await stream.WriteAsync(chunk);
                await Task.Delay(10);
            }
            return;
        }
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} Status\r\n{(_location is null ? "" : $"Location: {_location}\r\n")}Content-Length: 0\r\nConnection: close\r\n\r\n"));
        if (ok)
        {
            Delivered.TrySetResult((body, headers));
        }
    }

    private static async Task<(Dictionary<string, string>, byte[])> ReadRequestAsync(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (!EndsWithBlankLine(buffer) && await stream.ReadAsync(one) == 1)
        {
            buffer.Add(one[0]);
        }
        var lines = Encoding.ASCII.GetString(buffer.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Skip(1);
        var headers = lines.Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var body = new byte[int.Parse(headers["Content-Length"])];
        await stream.ReadExactlyAsync(body);
        return (headers, body);
    }

    private static bool EndsWithBlankLine(List<byte> b) =>
        b.Count >= 4 && b[^4] == '\r' && b[^3] == '\n' && b[^2] == '\r' && b[^1] == '\n';
}
