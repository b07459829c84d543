using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Runbox.Execution.Jobs;

namespace Runbox.Cli.Commands;

/// <summary>The engine's result as <c>runbox exec --json</c> prints it (snake_case, stdout/stderr as text).</summary>
internal sealed record JobResultJson(
    string Id, string Status, int? ExitCode, int? Signal, string LimitExceeded,
    [property: JsonConverter(typeof(Utf8TextConverter))] ReadOnlyMemory<byte> Stdout,
    [property: JsonConverter(typeof(Utf8TextConverter))] ReadOnlyMemory<byte> Stderr,
    bool StdoutTruncated, bool StderrTruncated, long WallMs, long CpuUserMs, long CpuSystemMs, long PeakMemoryBytes,
    IReadOnlyList<ArtifactJson> Artifacts, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string? Error)
{
    public static JobResultJson From(JobResult r) => new(
        r.Id, r.Status.ToWire(), r.ExitCode, r.Signal, r.LimitExceeded.ToWire(), r.Stdout, r.Stderr, r.StdoutTruncated,
        r.StderrTruncated, r.WallMs, r.CpuUserMs, r.CpuSystemMs, r.PeakMemoryBytes,
        r.Artifacts.Select(a => new ArtifactJson(a.Name, a.Size)).ToList(), r.StartedAt, r.FinishedAt, r.Error);
}

/// <summary>
/// Output bytes written as the JSON string of their UTF-8 text, bytes that are not UTF-8 as U+FFFD (as
/// <see cref="Encoding.GetString(byte[])"/> makes them), decoded a piece at a time: made one string first, a job's
/// 50 MB of output took 100 MB more, and the whole result serialized into another string 100 MB again.
/// </summary>
internal sealed class Utf8TextConverter : JsonConverter<ReadOnlyMemory<byte>>
{
    public override ReadOnlyMemory<byte> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("exec --json only writes its result");

    public override void Write(Utf8JsonWriter writer, ReadOnlyMemory<byte> value, JsonSerializerOptions options)
    {
        if (value.IsEmpty)
        {
            writer.WriteStringValue("");
            return;
        }
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = ArrayPool<char>.Shared.Rent(16 * 1024);
        try
        {
            var bytes = value.Span;
            bool completed;
            do
            {
                decoder.Convert(bytes, chars, flush: true, out var used, out var made, out completed);
                bytes = bytes[used..];
                writer.WriteStringValueSegment(chars.AsSpan(0, made), isFinalSegment: completed);
            }
            while (!completed);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }
}

internal sealed record ArtifactJson(string Name, long Size);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(JobResultJson))]
internal sealed partial class CliJson : JsonSerializerContext
{
    /// <summary>
    /// As <c>runbox jobs get</c> prints JSON: apostrophes, &lt;, &amp; and non-ASCII text as they are rather than
    /// \u-escaped (the default escaping guards JSON pasted into HTML, which this output is not).
    /// </summary>
    public static CliJson Readable { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
