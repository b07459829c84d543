using System.Text.Json.Serialization;

namespace Runbox.Storage.Sqlite;

/// <summary>The runtimes filter of a claim goes to SQLite as one JSON array, read back with json_each.</summary>
[JsonSerializable(typeof(string[]))]
internal sealed partial class QueueJson : JsonSerializerContext;
