using System.Text.Json.Serialization.Metadata;

namespace Runbox.Server.Http;

/// <summary>
/// Tells a body's unknown field apart from its other JSON errors, by the path the serializer stopped at: the field is
/// unknown when the object it sits in has no property of that name.
/// </summary>
internal static class UnknownField
{
    /// <summary>When <paramref name="path"/> ends at a field its object does not have, the names that object has.</summary>
    public static IReadOnlyList<string>? KnownBeside(JsonTypeInfo root, string? path)
    {
        if (Segments(path) is not { Count: > 0 } segments || TypeAt(root, segments[..^1]) is not { Kind: JsonTypeInfoKind.Object } type)
        {
            return null;
        }
        var name = segments[^1];
        return name.StartsWith('[') || type.Properties.Any(p => Named(p, name)) ? null : type.Properties.Select(p => p.Name).ToArray();
    }

    /// <summary>The type the body should hold at the path <paramref name="segments"/> lead to, or null where they lead nowhere known.</summary>
    public static JsonTypeInfo? TypeAt(JsonTypeInfo root, IEnumerable<string> segments)
    {
        var type = root;
        foreach (var segment in segments)
        {
            if (Step(type, segment) is not { } next)
            {
                return null;
            }
            type = next;
        }
        return type;
    }

    /// <summary>The type one segment down: a property of an object, or the element of a list or dictionary.</summary>
    private static JsonTypeInfo? Step(JsonTypeInfo type, string segment) => type.Kind switch
    {
        JsonTypeInfoKind.Object => type.Properties.FirstOrDefault(p => Named(p, segment)) is { } property
            ? type.Options.GetTypeInfo(property.PropertyType)
            : null,
        JsonTypeInfoKind.Enumerable or JsonTypeInfoKind.Dictionary when type.ElementType is { } element => type.Options.GetTypeInfo(element),
        _ => null,
    };

    private static bool Named(JsonPropertyInfo property, string name) =>
        string.Equals(property.Name, name, property.Options.PropertyNameCaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    /// <summary>"$.limits.timeout" as [limits, timeout]; "$.files['a.py']" and "$.args[0]" keep the bracket.</summary>
    internal static List<string>? Segments(string? path)
    {
        if (path is null || !path.StartsWith('$'))
        {
            return null;
        }
        var segments = new List<string>();
        var i = 1;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                end = end < 0 ? path.Length : end;
                segments.Add(path[(i + 1)..end]);
                i = end;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i);
                if (end < 0)
                {
                    return null;
                }
                var inside = path[(i + 1)..end];
                // ['name'] is an object's property whose name needs quoting; [0] and dictionary keys are elements.
                segments.Add(inside.StartsWith('\'') && inside.EndsWith('\'') && inside.Length >= 2 ? inside[1..^1] : $"[{inside}]");
                i = end + 1;
            }
            else
            {
                return null;
            }
        }
        return segments;
    }
}
