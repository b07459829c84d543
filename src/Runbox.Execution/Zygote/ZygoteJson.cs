using System.Text.Json.Serialization;

namespace Runbox.Execution.Zygote;

/// <summary>"took": the engine sent job <paramref name="Id"/> straight to offered init <paramref name="Init"/>.</summary>
internal sealed record ZygoteTook(string Op, string Id, int Init, int Seq);

/// <summary>"drop": the engine gives offered init <paramref name="Init"/> back unused.</summary>
internal sealed record ZygoteDrop(string Op, int Init, int Seq);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(ZygoteTook))]
[JsonSerializable(typeof(ZygoteDrop))]
internal sealed partial class ZygoteJson : JsonSerializerContext;
