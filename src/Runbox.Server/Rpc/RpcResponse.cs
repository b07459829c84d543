using System.Text.Json;

namespace Runbox.Server.Rpc;

/// <summary>Writes response objects: <c>{"jsonrpc":"2.0","id":...,"result":...}</c> or <c>...,"error":{code,message,data}}</c>.</summary>
public static class RpcResponse
{
    /// <summary>One response object, already serialized.</summary>
    public sealed record Raw(byte[] Bytes)
    {
        public byte[] ToArray() => Bytes;
    }

    public static Raw Result(JsonElement id, JsonElement result) => Write(id, json =>
    {
        json.WritePropertyName("result");
        result.WriteTo(json);
    });

    public static Raw ErrorRaw(JsonElement? id, RpcException error) => Write(id, json =>
    {
        json.WriteStartObject("error");
        json.WriteNumber("code", error.Code);
        json.WriteString("message", error.Message);
        if (error.Detail is { } data)
        {
            json.WriteString("data", data);
        }
        json.WriteEndObject();
    });

    public static byte[] Error(JsonElement? id, RpcException error) => ErrorRaw(id, error).Bytes;

    public static byte[] Batch(IReadOnlyList<Raw> answers)
    {
        using var buffer = new MemoryStream();
        buffer.WriteByte((byte)'[');
        for (var i = 0; i < answers.Count; i++)
        {
            if (i > 0)
            {
                buffer.WriteByte((byte)',');
            }
            buffer.Write(answers[i].Bytes);
        }
        buffer.WriteByte((byte)']');
        return buffer.ToArray();
    }

    private static Raw Write(JsonElement? id, Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            json.WritePropertyName("id");
            if (id is { } given)
            {
                given.WriteTo(json);
            }
            else
            {
                json.WriteNullValue();
            }
            body(json);
            json.WriteEndObject();
        }
        return new Raw(buffer.ToArray());
    }
}
