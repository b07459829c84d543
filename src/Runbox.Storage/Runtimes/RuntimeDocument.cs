using System.Text.Json;
using System.Text.Json.Serialization;

namespace Runbox.Storage.Runtimes;

/// <summary>
/// How both backends store a runtime: name, state and times as columns (for listing and the restart sweep), the rest
/// as one snake_case JSON document, so a field added later needs no migration.
/// </summary>
public static class RuntimeDocument
{
    public static string Serialize(RuntimeRecord runtime) => JsonSerializer.Serialize(runtime, RuntimeRecordJson.Default.RuntimeRecord);

    public static RuntimeRecord Deserialize(string json) =>
        JsonSerializer.Deserialize(json, RuntimeRecordJson.Default.RuntimeRecord) ?? throw new FormatException("empty runtime document");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true)]
[JsonSerializable(typeof(RuntimeRecord))]
internal sealed partial class RuntimeRecordJson : JsonSerializerContext;
