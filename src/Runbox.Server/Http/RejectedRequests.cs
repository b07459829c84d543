using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Runbox.Server.Health;

namespace Runbox.Server.Http;

/// <summary>
/// Kestrel refuses a request it cannot read (a path holding <c>%00</c>, a malformed header) before any middleware runs,
/// with a bare 400 and no body, and offers no way to change that answer. So each connection's output passes through a
/// writer that, told by Kestrel's <c>BadRequest</c> diagnostic event that the next response is such a refusal, answers
/// the same status as problem details naming what was wrong, as every other bad input is answered.
/// </summary>
public sealed class RejectedRequests : IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private const string BadRequestEvent = "Microsoft.AspNetCore.Server.Kestrel.BadRequest";

    private readonly ConcurrentDictionary<string, RefusalWriter> _connections = new();
    private readonly IDisposable _subscription;

    public RejectedRequests(DiagnosticListener diagnostics) =>
        _subscription = diagnostics.Subscribe(this, name => name == BadRequestEvent);

    /// <summary>Passes every connection of <paramref name="listen"/> through a writer that can answer a refusal.</summary>
    public static void AnswerWithProblems(ListenOptions listen)
    {
        var rejected = listen.ApplicationServices.GetRequiredService<RejectedRequests>();
        listen.Use(next => async connection =>
        {
            var writer = new RefusalWriter(connection.Transport.Output);
            connection.Transport = new Duplex(connection.Transport.Input, writer);
            rejected._connections[connection.ConnectionId] = writer;
            try
            {
                await next(connection);
            }
            finally
            {
                rejected._connections.TryRemove(connection.ConnectionId, out _);
            }
        });
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        // Raised on the connection's own processing, before Kestrel writes its answer.
        if (value.Value is IFeatureCollection features
            && features.Get<IBadRequestExceptionFeature>()?.Error is Microsoft.AspNetCore.Http.BadHttpRequestException error
            && features.Get<IHttpConnectionFeature>()?.ConnectionId is { } id
            && features.Get<IHttpResponseFeature>() is { HasStarted: false }
            && _connections.TryGetValue(id, out var writer))
        {
            writer.AnswerNextRefusal(error.StatusCode, Problem(error));
        }
    }

    public void OnError(Exception error)
    {
    }

    public void OnCompleted()
    {
    }

    public void Dispose() => _subscription.Dispose();

    /// <summary>The problem body, shaped as <see cref="Problems.BadRequest"/>'s: the part of the request and the rule.</summary>
    private static byte[] Problem(Microsoft.AspNetCore.Http.BadHttpRequestException error)
    {
        // Kestrel's message names the target only when its log is at Information; the rule is the same either way.
        var (field, rule) = error.Message.StartsWith("Invalid request target", StringComparison.Ordinal)
            ? ("path", "holds a character a URL cannot carry, such as %00 (a NUL character); the request was not acted on.")
            : ("request", $"could not be read: {error.Message}");
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", error.StatusCode == StatusCodes.Status400BadRequest ? "https://tools.ietf.org/html/rfc9110#section-15.5.1" : "about:blank");
            json.WriteString("title", "Invalid request");
            json.WriteNumber("status", error.StatusCode);
            json.WriteString("detail", $"{field}: {rule}");
            json.WriteStartObject("errors");
            json.WriteStartArray(field);
            json.WriteStringValue(rule);
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>
    /// Passes bytes through, except once armed: then it holds what Kestrel writes until the flush, and if that is the
    /// bare refusal (status line and headers, <c>Content-Length: 0</c>) writes the problem in its place. Anything else
    /// held goes out unchanged.
    /// </summary>
    private sealed class RefusalWriter(PipeWriter inner) : PipeWriter
    {
        private ArrayBufferWriter<byte>? _held;
        private int _status;
        private byte[] _problem = [];

        public void AnswerNextRefusal(int status, byte[] problem)
        {
            _status = status;
            _problem = problem;
            _held = new ArrayBufferWriter<byte>();
        }

        public override void Advance(int bytes)
        {
            if (_held is null)
            {
                inner.Advance(bytes);
            }
            else
            {
                _held.Advance(bytes);
            }
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => _held is null ? inner.GetMemory(sizeHint) : _held.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => _held is null ? inner.GetSpan(sizeHint) : _held.GetSpan(sizeHint);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            if (_held is { } held)
            {
                _held = null;
                inner.Write(IsBareRefusal(held.WrittenSpan) ? Answer(held.WrittenSpan) : held.WrittenSpan);
            }
            return inner.FlushAsync(cancellationToken);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        // System.Text.Json asks, to decide when to flush a large body.
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes + (_held?.WrittenCount ?? 0);

        public override void Complete(Exception? exception = null)
        {
            WriteHeld();
            inner.Complete(exception);
        }

        public override ValueTask CompleteAsync(Exception? exception = null)
        {
            WriteHeld();
            return inner.CompleteAsync(exception);
        }

        /// <summary>Completed without a flush: what was held still goes out, unchanged.</summary>
        private void WriteHeld()
        {
            if (_held is { } held)
            {
                _held = null;
                inner.Write(held.WrittenSpan);
            }
        }

        private bool IsBareRefusal(ReadOnlySpan<byte> bytes)
        {
            var text = Encoding.ASCII.GetString(bytes);
            return text.StartsWith($"HTTP/1.1 {_status} ", StringComparison.Ordinal)
                && text.EndsWith("\r\n\r\n", StringComparison.Ordinal)
                && text.Contains("\r\nContent-Length: 0\r\n", StringComparison.OrdinalIgnoreCase);
        }

        /// <summary>Kestrel's own headers (Date, Server, Connection: close) with the problem's type and length.</summary>
        private byte[] Answer(ReadOnlySpan<byte> refusal)
        {
            var headers = Encoding.ASCII.GetString(refusal)
                .Replace("\r\nContent-Length: 0\r\n", $"\r\nContent-Type: application/problem+json\r\nContent-Length: {_problem.Length}\r\n", StringComparison.OrdinalIgnoreCase);
            headers = headers[..^2] + $"{ServerVersion.Header}: {ServerVersion.Current}\r\n\r\n";
            return [.. Encoding.ASCII.GetBytes(headers), .. _problem];
        }
    }
}
