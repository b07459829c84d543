using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Runbox.Server.Http;

/// <summary>
/// Two faults of a JSON body that parsing lets through. A member given twice (<c>{"script": "a", "script": "b"}</c>)
/// silently means the last one, so a proxy or a log that reads the first sees another request than the one that runs.
/// A string that is not valid UTF-8 or holds a lone surrogate (<c>"\ud800"</c>) fails only when it is read, wherever
/// that happens to be. The serializer matches a field's name in any case, so <c>"script"</c> and <c>"Script"</c> are
/// one member given twice as well, though two keys of a map (<c>env</c>'s <c>A</c> and <c>a</c>) are not.
/// </summary>
public static class JsonTextFaults
{
    /// <summary>
    /// The first such fault as the path to it (<c>env.A</c>, <c>args[2]</c>; <c>body</c> at the top) and the rule broken;
    /// null when there is none, or when the body is not well-formed JSON (the parser's own error says that better).
    /// With <paramref name="shape"/>, the type the body is read as, names of its objects match as the serializer matches
    /// them: in any case.
    /// </summary>
    public static (string Path, string Rule)? Find(ReadOnlySpan<byte> body, int maxDepth, JsonTypeInfo? shape = null)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = maxDepth });
        // One frame per open object (the names seen in it, the current one) or array (the current index).
        var frames = new List<(HashSet<string>? Names, string? Name, int Index)>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        Step(frames);
                        frames.Add((new HashSet<string>(NameComparer(shape, frames)), null, -1));
                        continue;
                    case JsonTokenType.StartArray:
                        Step(frames);
                        frames.Add((null, null, -1));
                        continue;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        frames.RemoveAt(frames.Count - 1);
                        continue;
                    case JsonTokenType.PropertyName:
                        if (!TryRead(ref reader, out var name))
                        {
                            return (Path(frames), "holds a member name that is invalid text: not UTF-8, or a lone surrogate.");
                        }
                        var frame = frames[^1];
                        frames[^1] = (frame.Names, name, -1);
                        if (!frame.Names!.Add(name))
                        {
                            frame.Names.TryGetValue(name, out var first);
                            return (Path(frames), first == name
                                ? "is given more than once."
                                : $"is given more than once (also as '{first}': field names match in any case).");
                        }
                        continue;
                    case JsonTokenType.String:
                        Step(frames);
                        if (!TryRead(ref reader, out _))
                        {
                            return (Path(frames), "is invalid text: not UTF-8, or a lone surrogate.");
                        }
                        continue;
                    default:
                        Step(frames);
                        continue;
                }
            }
        }
        catch (JsonException)
        {
            return null;
        }
        return null;
    }

    /// <summary>
    /// How the names of an object opening at the current place compare: in any case where <paramref name="shape"/> has an
    /// object there and its serializer reads names so; exactly elsewhere (a map's keys, the members of unknown fields).
    /// </summary>
    private static StringComparer NameComparer(JsonTypeInfo? shape, List<(HashSet<string>? Names, string? Name, int Index)> frames)
    {
        if (shape is null)
        {
            return StringComparer.Ordinal;
        }
        var segments = frames.Select(f => f.Names is null ? $"[{f.Index}]" : f.Name ?? "");
        return UnknownField.TypeAt(shape, segments) is { Kind: JsonTypeInfoKind.Object } type && type.Options.PropertyNameCaseInsensitive
            ? StringComparer.OrdinalIgnoreCase
            : StringComparer.Ordinal;
    }

    /// <summary>A value inside an array moves its index on.</summary>
    private static void Step(List<(HashSet<string>? Names, string? Name, int Index)> frames)
    {
        if (frames.Count > 0 && frames[^1].Names is null)
        {
            frames[^1] = frames[^1] with { Index = frames[^1].Index + 1 };
        }
    }

    private static bool TryRead(ref Utf8JsonReader reader, out string text)
    {
        try
        {
            text = reader.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            text = "";
            return false;
        }
    }

    private static string Path(List<(HashSet<string>? Names, string? Name, int Index)> frames)
    {
        var path = new StringBuilder();
        foreach (var (names, name, index) in frames)
        {
            if (names is null)
            {
                path.Append('[').Append(index).Append(']');
            }
            else if (name is not null)
            {
                var parent = path.ToString();
                path.Clear().Append(FieldNames.Member(parent, name));
            }
        }
        return path.Length > 0 ? path.ToString() : "body";
    }
}
