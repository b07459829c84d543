using System.Text.Json.Serialization;

namespace Runbox.Execution.Invocations;

/// <summary>Source-generated JSON for invocations and results, so the library works trimmed and without reflection.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(RuntimeResult))]
[JsonSerializable(typeof(RuntimeInvocation))]
public sealed partial class InvocationJsonContext : JsonSerializerContext;
