using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Runbox.Server.Tests.OpenApi;

/// <summary>
/// The document a server publishes at <c>/openapi/v1.json</c>, read as a client generator reads it: each real answer is
/// checked against what the document declares for its operation (the status, the media type, the body's schema).
/// </summary>
public sealed class OpenApiContract
{
    private readonly JsonObject _document;
    private readonly string _definitions;
    private readonly Dictionary<string, JsonSchema> _schemas = [];

    public OpenApiContract(string json)
    {
        _document = JsonNode.Parse(json)!.AsObject();
        // OpenAPI 3.1 schemas are JSON Schema 2020-12: the components become $defs of each schema checked.
        _definitions = _document["components"]!["schemas"]!.ToJsonString().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
    }

    public JsonObject Document => _document;

    /// <summary>Every (METHOD, path template) the document describes.</summary>
    public IEnumerable<(string Method, string Path)> Operations =>
        _document["paths"]!.AsObject().SelectMany(path => path.Value!.AsObject()
            .Where(o => o.Key is "get" or "post" or "put" or "delete" or "patch" or "head")
            .Select(o => (o.Key.ToUpperInvariant(), path.Key)));

    /// <summary>The (METHOD, path template, status) answers checked so far.</summary>
    public HashSet<(string Method, string Path, int Status)> Seen { get; } = [];

    /// <summary>Fails unless the document declares <paramref name="status"/> for the operation (an answer without a body).</summary>
    public void CheckStatus(string method, string path, int status)
    {
        var responses = _document["paths"]?[path]?[method.ToLowerInvariant()]?["responses"]?.AsObject();
        Assert.True(responses?.ContainsKey(status.ToString(System.Globalization.CultureInfo.InvariantCulture)) == true,
            $"{method} {path} answered {status}, which the document does not declare.");
        Seen.Add((method, path, status));
    }

    /// <summary>
    /// Fails unless the document declares <paramref name="response"/>'s status for the operation, with its media type,
    /// and a JSON body valid against the declared schema, and, when it succeeded, unless the JSON body sent is one the
    /// declared request schema allows. Returns the answer's body.
    /// </summary>
    public async Task<string> CheckAsync(HttpResponseMessage response, string method, string path)
    {
        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync();
        var where = $"{method} {path} answered {status}";
        var operation = _document["paths"]?[path]?[method.ToLowerInvariant()]?.AsObject();
        Assert.True(operation is not null, $"{where}, but the document has no such operation.");
        var declared = operation!["responses"]?[status.ToString(System.Globalization.CultureInfo.InvariantCulture)]?.AsObject();
        Assert.True(declared is not null, $"{where}, which the document does not declare: {body}");
        Seen.Add((method, path, status));

        // A body the server took is one the document allows, so a generated client can send it.
        if (status is >= 200 and < 300 && response.RequestMessage?.Content is { Headers.ContentType.MediaType: "application/json" } sent
            && operation["requestBody"]?["content"]?["application/json"]?["schema"] is { } requestSchema)
        {
            var request = await sent.ReadAsStringAsync();
            var accepted = SchemaFor(requestSchema).Evaluate(JsonDocument.Parse(request).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            Assert.True(accepted.IsValid, $"{where} to a body the declared schema {requestSchema.ToJsonString()} refuses:\n{Errors(accepted)}\n{request}");
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is null || body.Length == 0)
        {
            Assert.True(declared!["content"] is null || status == 200, $"{where} with no body, where the document declares one.");
            return body;
        }
        var content = declared!["content"]?.AsObject();
        Assert.True(content?.ContainsKey(mediaType) == true,
            $"{where} as {mediaType}, where the document declares {string.Join(", ", content?.Select(c => c.Key) ?? ["no body"])}.");
        if (mediaType is "application/json" or "application/problem+json")
        {
            var schema = content![mediaType]!["schema"];
            Assert.True(schema is not null, $"{where}: the document declares {mediaType} without a schema.");
            var results = SchemaFor(schema!).Evaluate(JsonDocument.Parse(body).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            Assert.True(results.IsValid, $"{where}; its body does not match the declared schema {schema.ToJsonString()}:\n{Errors(results)}\n{body}");
        }
        return body;
    }

    private JsonSchema SchemaFor(JsonNode schema)
    {
        var text = schema.ToJsonString().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
        if (!_schemas.TryGetValue(text, out var built))
        {
            var whole = JsonNode.Parse(text)!.AsObject();
            whole["$schema"] = "https://json-schema.org/draft/2020-12/schema";
            whole["$defs"] = JsonNode.Parse(_definitions);
            // A base address of its own for each: they share $defs, and the global registry holds one schema per address.
            built = JsonSchema.FromText(whole.ToJsonString(), baseUri: new Uri($"https://runbox.test/openapi/{Guid.NewGuid():N}"));
            _schemas[text] = built;
        }
        return built;
    }

    private static string Errors(EvaluationResults results) => string.Join("\n",
        (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"  {d.InstanceLocation} ({d.EvaluationPath}): {e.Value}")));
}
