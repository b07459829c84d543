using System.Buffers;
using System.Text.Json;

namespace Runbox.Cli.Commands;

/// <summary>
/// JSON as <c>runbox jobs get</c> prints it for a person at a terminal: indented, and quotes, apostrophes and non-ASCII
/// text as they are rather than \u-escaped (the escaping guards JSON pasted into HTML, which this is not). The server's
/// compact JSON is re-written token by token as it arrives: a job's stdout can be tens of MB, and read into objects,
/// then serialized into one string and written, a 50 MB job took over 600 MB.
/// </summary>
internal static class ReadableJson
{
    public static JsonWriterOptions Options { get; } = new()
    {
        Indented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>How much of a long string goes out at a time, and how much output waits before it is written.</summary>
    private const int Chunk = 64 * 1024;

    /// <summary>
    /// Copies the JSON document in <paramref name="source"/> to <paramref name="target"/> re-indented, then a newline.
    /// The buffer holds the longest token at most (a job's stdout), once; the output goes out as it is made.
    /// </summary>
    /// <exception cref="JsonException">The source is not one JSON document; part of it may have been written.</exception>
    public static async Task CopyAsync(Stream source, Stream target, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Chunk);
        var unescaped = ArrayPool<byte>.Shared.Rent(Chunk + 16);
        try
        {
            var state = new JsonReaderState();
            var filled = 0;
            using var writer = new Utf8JsonWriter(target, Options);
            while (true)
            {
                if (filled == buffer.Length)
                {
                    // A token longer than the buffer: it must be whole to be read.
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await source.ReadAsync(buffer.AsMemory(filled), ct);
                filled += read;
                var final = read == 0;
                int consumed;
                try
                {
                    consumed = Rewrite(buffer.AsSpan(0, filled), final, ref state, writer, unescaped);
                }
                catch (InvalidOperationException e)
                {
                    // A string that is no text (a lone \uD800), as the serializer refuses it.
                    throw new JsonException(e.Message, e);
                }
                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
                await writer.FlushAsync(ct);
                if (final)
                {
                    if (writer.BytesCommitted == 0 || writer.CurrentDepth != 0)
                    {
                        throw new JsonException("the JSON document ends too early");
                    }
                    break;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(unescaped);
        }
        await target.WriteAsync("\n"u8.ToArray(), ct);
        await target.FlushAsync(ct);
    }

    /// <summary>Writes every whole token in <paramref name="data"/>; returns how many bytes they took.</summary>
    private static int Rewrite(ReadOnlySpan<byte> data, bool final, ref JsonReaderState state, Utf8JsonWriter writer, byte[] unescaped)
    {
        var reader = new Utf8JsonReader(data, final, state);
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    writer.WriteStartObject();
                    break;
                case JsonTokenType.EndObject:
                    writer.WriteEndObject();
                    break;
                case JsonTokenType.StartArray:
                    writer.WriteStartArray();
                    break;
                case JsonTokenType.EndArray:
                    writer.WriteEndArray();
                    break;
                case JsonTokenType.PropertyName:
                    writer.WritePropertyName(reader.GetString()!);
                    break;
                case JsonTokenType.String:
                    WriteString(ref reader, writer, unescaped);
                    break;
                case JsonTokenType.Number:
                    // As the server wrote it: the same digits the CLI's serializer would write for the value it read.
                    writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                    break;
                case JsonTokenType.True or JsonTokenType.False:
                    writer.WriteBooleanValue(reader.GetBoolean());
                    break;
                case JsonTokenType.Null:
                    writer.WriteNullValue();
                    break;
            }
            if (writer.BytesPending >= Chunk)
            {
                writer.Flush();
            }
        }
        state = reader.CurrentState;
        return (int)reader.BytesConsumed;
    }

    /// <summary>
    /// A string value, in pieces of at most <see cref="Chunk"/> bytes each unescaped on its own and written as a segment
    /// of the one string, so that neither a whole unescaped copy nor the whole re-escaped string is held.
    /// </summary>
    private static void WriteString(ref Utf8JsonReader reader, Utf8JsonWriter writer, byte[] unescaped)
    {
        var value = reader.ValueSpan;
        if (value.Length <= Chunk)
        {
            writer.WriteStringValue(reader.GetString());
            return;
        }
        var start = 0;
        while (start < value.Length)
        {
            var end = PieceEnd(value, start);
            // The piece read as a JSON string of its own: the reader's own unescaping, \u surrogate pairs and all.
            var quoted = ArrayPool<byte>.Shared.Rent(end - start + 2);
            try
            {
                quoted[0] = (byte)'"';
                value[start..end].CopyTo(quoted.AsSpan(1));
                quoted[end - start + 1] = (byte)'"';
                var piece = new Utf8JsonReader(quoted.AsSpan(0, end - start + 2));
                piece.Read();
                var length = piece.CopyString(unescaped);
                writer.WriteStringValueSegment(unescaped.AsSpan(0, length), isFinalSegment: end == value.Length);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(quoted);
            }
            if (writer.BytesPending >= Chunk)
            {
                writer.Flush();
            }
            start = end;
        }
    }

    /// <summary>
    /// Where a piece of an escaped string starting at <paramref name="start"/> can end, about <see cref="Chunk"/> bytes on:
    /// never inside an escape (nor between the two halves of a \u surrogate pair) or a character's UTF-8 bytes.
    /// </summary>
    private static int PieceEnd(ReadOnlySpan<byte> value, int start)
    {
        var i = start;
        while (i < value.Length && i - start < Chunk)
        {
            if (value[i] != '\\')
            {
                i++;
            }
            else if (value[i + 1] != 'u')
            {
                i += 2;
            }
            else
            {
                // \uD800-\uDBFF is a pair's first half, unescaped together with the second (a lone half fails as a whole string would).
                var high = value[i + 2] is (byte)'d' or (byte)'D' && value[i + 3] is (byte)'8' or (byte)'9' or (byte)'a' or (byte)'A' or (byte)'b' or (byte)'B';
                i += high && i + 12 <= value.Length && value[i + 6] == '\\' && value[i + 7] == 'u' ? 12 : 6;
            }
        }
        while (i < value.Length && (value[i] & 0xC0) == 0x80)
        {
            // A UTF-8 continuation byte: the character began before i.
            i--;
        }
        return i;
    }
}
