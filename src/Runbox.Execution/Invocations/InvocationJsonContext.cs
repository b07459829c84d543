using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Runbox.Execution.Invocations;

/// <summary>Source-generated JSON for invocations and results, so the library works trimmed and without reflection.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(RuntimeResult))]
[JsonSerializable(typeof(RuntimeInvocation))]
public sealed partial class InvocationJsonContext : JsonSerializerContext
{
    /// <summary>
    /// For what people read too (result files, <c>ToJson</c>): quotes, apostrophes and non-ASCII text as they are rather
    /// than \u-escaped, an escaping that guards JSON pasted into HTML.
    /// </summary>
    public static InvocationJsonContext Readable { get; } = new(new JsonSerializerOptions
    {
        // As the attribute above says for Default.
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
