using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Runbox.Server.Http;

/// <summary>
/// A body's value of the wrong kind (<c>"env": []</c>) named in JSON's words ("must be an object") rather than by the
/// .NET type the serializer's message names; so is a number a whole-number field cannot hold (<c>1.5</c>, <c>1e3</c>,
/// one past the type's range), which the serializer calls "not in a supported format ... for an Int64", and a file's
/// content that is not base64.
/// </summary>
internal static class WrongKind
{
    /// <summary>
    /// What kind of JSON value belongs at <paramref name="path"/>, when the body holds another kind there, or a number or
    /// base64 text the field cannot hold; null when the body is not well-formed JSON or the value there is one the
    /// field takes, whose error the serializer's message says better.
    /// </summary>
    public static string? At(ReadOnlyMemory<byte> body, JsonTypeInfo root, string? path)
    {
        if (UnknownField.Segments(path) is not { } segments || UnknownField.TypeAt(root, segments) is not { } type
            || Expected(type) is not { } expected)
        {
            return null;
        }
        JsonDocument document;
        try
        {
            // Not the request's depth cap: the serializer stops at the first wrong kind, and a body too deep only further
            // on ("env": [[[...]]]) must still be named by kind, not by the .NET type it would have become. Parsing a
            // document is not recursive, and the body's size is already capped.
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = int.MaxValue });
        }
        catch (JsonException)
        {
            return null;
        }
        using (document)
        {
            var value = document.RootElement;
            foreach (var segment in segments)
            {
                var found = (value.ValueKind, segment.StartsWith('[')) switch
                {
                    (JsonValueKind.Array, true) => int.TryParse(segment[1..^1], out var index) && index < value.GetArrayLength() ? value[index] : (JsonElement?)null,
                    (JsonValueKind.Object, true) => value.TryGetProperty(segment[1..^1], out var keyed) ? keyed : null,
                    (JsonValueKind.Object, false) => value.TryGetProperty(segment, out var named) ? named : null,
                    _ => null,
                };
                if (found is not { } next)
                {
                    return null;
                }
                value = next;
            }
            // null is left to the serializer's own message; false is the same kind as true.
            var given = value.ValueKind == JsonValueKind.False ? JsonValueKind.True : value.ValueKind;
            if (given == JsonValueKind.Number && NotWhole(value, type) is { } whole)
            {
                return whole;
            }
            // A file's content that is not base64 ("files": {"a.py": "print(1)"}) is a value of the right kind, but no file.
            if (given == JsonValueKind.String && type.Type == typeof(byte[]) && !value.TryGetBytesFromBase64(out _))
            {
                return "the file's content as base64 text (\"\" for an empty file)";
            }
            return given == JsonValueKind.Null || given == expected.Kind ? null : expected.Words;
        }
    }

    /// <summary>
    /// The rule a number breaks when a whole-number field cannot hold it: a fraction or exponent (the serializer reads
    /// neither, even 1.0), or a value past the type's range; null when it fits or the field takes another kind.
    /// </summary>
    private static string? NotWhole(JsonElement value, JsonTypeInfo type)
    {
        var clr = Nullable.GetUnderlyingType(type.Type) ?? type.Type;
        var (fits, min, max) = clr == typeof(int) ? (value.TryGetInt32(out _), (long)int.MinValue, (long)int.MaxValue)
            : clr == typeof(long) ? (value.TryGetInt64(out _), long.MinValue, long.MaxValue)
            : (true, 0, 0);
        if (fits)
        {
            return null;
        }
        var text = value.GetRawText();
        var shown = text.Length > 40 ? text[..40] + "..." : text;
        return text.AsSpan().IndexOfAny(".eE") >= 0
            ? $"a whole number, without a fraction or exponent (got {shown})"
            : $"a whole number from {min} to {max} (got {shown})";
    }

    /// <summary>The kind of JSON value a type is read from (true standing for both booleans), and its name in a message.</summary>
    private static (JsonValueKind Kind, string Words)? Expected(JsonTypeInfo type)
    {
        var clr = Nullable.GetUnderlyingType(type.Type) ?? type.Type;
        return type.Kind switch
        {
            JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary => (JsonValueKind.Object, "an object"),
            JsonTypeInfoKind.Enumerable => (JsonValueKind.Array, "an array"),
            _ when clr == typeof(string) => (JsonValueKind.String, "a string"),
            _ when clr == typeof(byte[]) => (JsonValueKind.String, "base64 text"),
            _ when clr == typeof(bool) => (JsonValueKind.True, "true or false"),
            _ when clr == typeof(int) || clr == typeof(long) => (JsonValueKind.Number, "a whole number"),
            _ when clr == typeof(double) || clr == typeof(decimal) || clr == typeof(float) => (JsonValueKind.Number, "a number"),
            _ => null,
        };
    }
}
