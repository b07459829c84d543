using System.Text.Json.Serialization;

namespace Runbox.Storage.Jobs;

/// <summary>
/// How both backends store a <see cref="JobSpec"/>: one snake_case JSON document (file contents and stdin as base64),
/// so a row written by one node version is read by the next without a column per field.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JobSpec))]
public sealed partial class JobSpecJson : JsonSerializerContext;
