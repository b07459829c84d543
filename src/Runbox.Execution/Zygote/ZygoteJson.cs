using System.Text.Json.Serialization;

namespace Runbox.Execution.Zygote;

[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class ZygoteJson : JsonSerializerContext;
