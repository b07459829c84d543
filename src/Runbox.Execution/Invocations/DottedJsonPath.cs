using System.Globalization;
using System.Text.Json;

namespace Runbox.Execution.Invocations;

/// <summary>Reads one value out of a JSON document by a dotted path: <c>data.run.id</c>, <c>items.0.state</c>.</summary>
internal static class DottedJsonPath
{
    /// <summary>The value as text (strings as they are, numbers and booleans as written), or null when absent, null or not JSON.</summary>
    public static string? Read(byte[] json, string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return null;
        }
        using (document)
        {
            var element = document.RootElement;
            foreach (var segment in path.Split('.'))
            {
                if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(segment, out var property))
                {
                    element = property;
                }
                else if (element.ValueKind == JsonValueKind.Array
                    && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                    && index < element.GetArrayLength())
                {
                    element = element[index];
                }
                else
                {
                    return null;
                }
            }
            return element.ValueKind switch
            {
                JsonValueKind.String => element.GetString(),
                JsonValueKind.Null or JsonValueKind.Undefined => null,
                _ => element.GetRawText(),
            };
        }
    }
}
