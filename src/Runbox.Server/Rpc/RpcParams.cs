using System.Text.Json;

namespace Runbox.Server.Rpc;

/// <summary>
/// A method's named parameters. Each getter checks the type and throws -32602 naming the member and the rule; members
/// a method does not know are refused too, so a misspelt name does not pass silently. An empty array is no parameters:
/// clients that call by position (StreamJsonRpc, go-ethereum's) send <c>"params": []</c> for a method given none.
/// </summary>
public sealed class RpcParams
{
    private readonly JsonElement _params;

    public RpcParams(JsonElement? parameters, params string[] known)
    {
        if (parameters is { ValueKind: JsonValueKind.Array } array && array.GetArrayLength() == 0)
        {
            parameters = null;
        }
        _params = parameters ?? default;
        if (parameters is { ValueKind: JsonValueKind.Object } given)
        {
            foreach (var property in given.EnumerateObject())
            {
                if (!known.Contains(property.Name))
                {
                    throw RpcException.Params(known.Length == 0
                        ? $"this method takes no parameters (got '{property.Name}')"
                        : $"unknown parameter '{property.Name}'; expected {string.Join(", ", known)}");
                }
            }
        }
        else if (parameters is { ValueKind: JsonValueKind.Array })
        {
            throw RpcException.Params(known.Length == 0
                ? "this method takes no parameters (got an array of them)"
                : $"params must be an object with named members ({string.Join(", ", known)}), not an array");
        }
    }

    private JsonElement? Get(string name) =>
        _params.ValueKind == JsonValueKind.Object && _params.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public string RequiredString(string name) =>
        OptionalString(name) is { Length: > 0 } value ? value : throw RpcException.Params($"{name} is required (a non-empty string)");

    public string? OptionalString(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw RpcException.Params($"{name} must be a string"),
    };

    public long? OptionalInteger(string name, long min, long max)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number) || number < min || number > max)
        {
            throw RpcException.Params($"{name} must be an integer from {min} to {max}");
        }
        return number;
    }

    public bool? OptionalBoolean(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw RpcException.Params($"{name} must be true or false"),
    };

    public List<string>? OptionalStringList(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            throw RpcException.Params($"{name} must be an array of strings");
        }
        return value.EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    public Dictionary<string, string>? OptionalStringMap(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Object || value.EnumerateObject().Any(p => p.Value.ValueKind != JsonValueKind.String))
        {
            throw RpcException.Params($"{name} must be an object of string values");
        }
        return value.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }
}
