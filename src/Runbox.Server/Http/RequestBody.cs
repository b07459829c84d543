using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Runbox.Server.Configuration;

namespace Runbox.Server.Http;

/// <summary>
/// Reads a JSON body with the server's size and depth caps. Too big answers 413 before the body is buffered
/// whole; malformed JSON, invalid UTF-8 and too deep nesting answer 400 naming where it went wrong.
/// </summary>
public static class RequestBody
{
    public readonly record struct Read<T>(T? Value, ProblemHttpResult? Problem);

    public static async Task<Read<T>> ReadJsonAsync<T>(HttpContext http, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        var options = http.RequestServices.GetRequiredService<IOptions<RunboxOptions>>().Value;
        var max = options.MaxRequestBodyBytes;
        if (http.Request.ContentLength is { } declared && declared > max)
        {
            return new(null, TooLarge(max));
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
                    break;
                }
                buffer.Advance(read);
                if (buffer.WrittenCount > max)
                {
                    return new(null, TooLarge(max));
                }
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new(null, TooLarge(max));
        }

        if (buffer.WrittenCount == 0)
        {
            return new(null, Problems.BadRequest("body", "a JSON object is required."));
        }

        try
        {
            var serializerOptions = new JsonSerializerOptions(RunboxJson.Options) { MaxDepth = options.MaxJsonDepth };
            var info = (JsonTypeInfo<T>)serializerOptions.GetTypeInfo(typeof(T));
            var value = JsonSerializer.Deserialize(buffer.WrittenSpan, info);
            return value is null
                ? new(null, Problems.BadRequest("body", "a JSON object is required."))
                : new(value, null);
        }
        catch (JsonException e)
        {
            var path = string.IsNullOrEmpty(e.Path) ? "body" : e.Path.TrimStart('$', '.');
            return new(null, Problems.BadRequest(path.Length == 0 ? "body" : path, $"invalid JSON: {Describe(e)}"));
        }
        catch (InvalidOperationException e)
        {
            // Invalid UTF-8 or lone surrogates inside strings surface here rather than as JsonException.
            return new(null, Problems.BadRequest("body", $"invalid text: {e.Message}"));
        }
    }

    private static string Describe(JsonException e)
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
