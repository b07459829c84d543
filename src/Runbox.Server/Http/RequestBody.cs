using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Runbox.Server.Configuration;

namespace Runbox.Server.Http;

/// <summary>
/// Reads a JSON body with the server's size and depth caps. Too big answers 413 before the body is buffered
/// whole; malformed JSON, invalid UTF-8, too deep nesting and fields the body does not have answer 400 naming where
/// it went wrong. Unknown fields are refused because a misspelt limit (<c>"timeout"</c> for <c>"timeout_seconds"</c>)
/// would otherwise run the job without it; the compatibility adapters ignore them, as the services they stand in for.
/// </summary>
public static class RequestBody
{
    public readonly record struct Read<T>(T? Value, ProblemHttpResult? Problem);

    /// <summary>One set of options per depth cap and unknown-field rule: each set builds its type metadata once.</summary>
    private static readonly ConcurrentDictionary<(int Depth, bool IgnoreUnknown), JsonSerializerOptions> ReadOptions = new();

    public static async Task<Read<T>> ReadJsonAsync<T>(HttpContext http, JsonTypeInfo<T> typeInfo, bool ignoreUnknownFields = false)
        where T : class
    {
        if (BodyEncoding.Unsupported(http.Request) is { } unsupported)
        {
            return new(null, Problems.UnsupportedMediaType(unsupported.Header, unsupported.Rule));
        }
        var options = http.RequestServices.GetRequiredService<IOptions<RunboxOptions>>().Value;
        var max = options.MaxRequestBodyBytes;
        if (await ReadBytesAsync(http, max) is not { } body)
        {
            return new(null, TooLarge(max));
        }

        if (body.IsEmpty)
        {
            return new(null, Problems.BadRequest("body", "a JSON object is required."));
        }

        var serializerOptions = ReadOptions.GetOrAdd((options.MaxJsonDepth, ignoreUnknownFields), key =>
        {
            var created = new JsonSerializerOptions(RunboxJson.Options)
            {
                MaxDepth = key.Depth,
                UnmappedMemberHandling = key.IgnoreUnknown ? JsonUnmappedMemberHandling.Skip : JsonUnmappedMemberHandling.Disallow,
            };
            created.MakeReadOnly();
            return created;
        });
        var info = (JsonTypeInfo<T>)serializerOptions.GetTypeInfo(typeof(T));
        if (JsonTextFaults.Find(body.Span, options.MaxJsonDepth, info) is { } fault)
        {
            return new(null, Problems.BadRequest(fault.Path, fault.Rule));
        }
        try
        {
            var value = JsonSerializer.Deserialize(body.Span, info);
            return value is null
                ? new(null, Problems.BadRequest("body", "a JSON object is required."))
                : new(value, null);
        }
        catch (JsonException e)
        {
            var field = FieldNames.FromSerializerPath(e.Path);
            // Where unknown fields are skipped, an error inside one (too deep, say) stops at its path too: not a refusal.
            if (!ignoreUnknownFields && UnknownField.KnownBeside(info, e.Path) is { } known)
            {
                return new(null, Problems.BadRequest(field, $"unknown field; expected one of {string.Join(", ", known)}."));
            }
            // A value of the wrong kind ("env": []) is named in JSON's words, not by the .NET type it would have become.
            if (WrongKind.At(body, info, e.Path) is { } expected)
            {
                return new(null, Problems.BadRequest(field, $"must be {expected}."));
            }
            return new(null, Problems.BadRequest(field, $"invalid JSON: {Describe(e)}"));
        }
        catch (InvalidOperationException e)
        {
            // Invalid UTF-8 or lone surrogates inside strings surface here rather than as JsonException.
            return new(null, Problems.BadRequest("body", $"invalid text: {e.Message}"));
        }
    }

    /// <summary>
    /// The whole body, or null when it is larger than <paramref name="max"/> bytes: by its Content-Length, before any of
    /// it is read, or as it arrives (chunked), so a body too big is never buffered whole. JSON-RPC reads its bodies here too.
    /// </summary>
    public static async Task<ReadOnlyMemory<byte>?> ReadBytesAsync(HttpContext http, long max)
    {
        if (http.Request.ContentLength is { } declared && declared > max)
        {
            return null;
        }
        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (true)
            {
                var memory = buffer.GetMemory(16 * 1024);
                var read = await http.Request.Body.ReadAsync(memory, http.RequestAborted);
                if (read == 0)
                {
                    return buffer.WrittenMemory;
                }
                buffer.Advance(read);
                if (buffer.WrittenCount > max)
                {
                    return null;
                }
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // Kestrel's own cap (the same size) tripped first.
            return null;
        }
    }

    /// <summary>The parser's words for what is wrong and where (line and byte), cut short.</summary>
    public static string Describe(JsonException e)
    {
        var message = e.InnerException?.Message ?? e.Message;
        return message.Length > 300 ? message[..300] : message;
    }

    private static ProblemHttpResult TooLarge(long max) => TypedResults.Problem(
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "Request body too large",
        detail: $"The request body must be at most {max} bytes.",
        extensions: new Dictionary<string, object?> { ["field"] = "body", ["maximum"] = max });
}
