using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Runbox.Execution.Jobs;

namespace Runbox.Cli.Commands;

/// <summary>The engine's result as <c>runbox exec --json</c> prints it (snake_case, stdout/stderr as text).</summary>
internal sealed record JobResultJson(
    string Id, string Status, int? ExitCode, int? Signal, string LimitExceeded, string Stdout, string Stderr,
    bool StdoutTruncated, bool StderrTruncated, long WallMs, long CpuUserMs, long CpuSystemMs, long PeakMemoryBytes,
    IReadOnlyList<ArtifactJson> Artifacts, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string? Error)
{
    public static JobResultJson From(JobResult r) => new(
        r.Id, r.Status.ToWire(), r.ExitCode, r.Signal, r.LimitExceeded.ToWire(), Encoding.UTF8.GetString(r.Stdout),
        Encoding.UTF8.GetString(r.Stderr), r.StdoutTruncated, r.StderrTruncated, r.WallMs, r.CpuUserMs, r.CpuSystemMs,
        r.PeakMemoryBytes, r.Artifacts.Select(a => new ArtifactJson(a.Name, a.Size)).ToList(), r.StartedAt, r.FinishedAt, r.Error);
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
