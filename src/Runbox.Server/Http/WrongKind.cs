using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Runbox.Server.Http;

/// <summary>
/// A body's value of the wrong kind (<c>"env": []</c>) named in JSON's words ("must be an object") rather than by the
/// .NET type the serializer's message names.
/// </summary>
internal static class WrongKind
{
    /// <summary>
    /// What kind of JSON value belongs at <paramref name="path"/>, when the body holds another kind there; null when the
    /// body is not well-formed JSON or the value there is of the right kind (too large a number, say), whose error the
    /// serializer's message says better.
    /// </summary>
    public static string? At(ReadOnlyMemory<byte> body, int maxDepth, JsonTypeInfo root, string? path)
    {
        if (UnknownField.TypeAt(root, path) is not { } expected || UnknownField.Segments(path) is not { } segments)
        {
            return null;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = maxDepth });
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
            if (JsonKind(expected) is not { } kind)
            {
                return null;
            }
            var matches = value.ValueKind switch
            {
                JsonValueKind.Object => kind == "an object",
                JsonValueKind.Array => kind == "an array",
                JsonValueKind.String => kind == "a string",
                JsonValueKind.True or JsonValueKind.False => kind == "true or false",
                JsonValueKind.Number => kind is "a number" or "a whole number",
                _ => true, // null: the serializer's own message
            };
            return matches ? null : kind;
        }
    }

    private static string? JsonKind(JsonTypeInfo type)
    {
        var clr = Nullable.GetUnderlyingType(type.Type) ?? type.Type;
        return type.Kind switch
        {
            JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary => "an object",
            JsonTypeInfoKind.Enumerable => "an array",
            _ when clr == typeof(string) => "a string",
            _ when clr == typeof(bool) => "true or false",
            _ when clr == typeof(int) || clr == typeof(long) => "a whole number",
            _ when clr == typeof(double) || clr == typeof(decimal) || clr == typeof(float) => "a number",
            _ => null,
        };
    }
}
