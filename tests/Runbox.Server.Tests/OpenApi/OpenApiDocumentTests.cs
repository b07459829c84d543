using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Runbox.Server.Http;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.OpenApi;

/// <summary>
/// <c>/openapi/v1.json</c> says what the server really does: a real server's answers to every endpoint, successes and
/// errors, are checked against the document's own schemas, so a change of either that the other does not follow fails.
/// </summary>
public sealed class OpenApiDocumentTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Described but not driven here: installing packages and smoke tests take a venv (RuntimesApiTests run them).</summary>
    private static readonly HashSet<(string, string)> NotDriven =
    [
        ("POST", "/api/v1/runtimes/{name}/packages"), ("POST", "/api/v1/runtimes/{name}/test"),
    ];

    private RunningServer _server = null!;
    private OpenApiContract _contract = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:MaxRequestBodyBytes"] = "65536" });
        using var anonymous = _server.Client(null);
        _contract = new OpenApiContract(await anonymous.GetStringAsync("/openapi/v1.json"));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Document_IsValidOpenApi_WithTheBearerSchemeOnEveryKeyedOperation()
    {
        using var anonymous = _server.Client(null);
        var json = await anonymous.GetStringAsync("/openapi/v1.json");

        var (document, diagnostic) = OpenApiDocument.Parse(json, "json");
        Assert.Empty(diagnostic!.Errors.Select(e => e.ToString()));
        Assert.Empty(document!.Validate(ValidationRuleSet.GetDefaultRuleSet())!.Select(e => e.ToString()));
        var scheme = Assert.IsType<OpenApiSecurityScheme>(document!.Components?.SecuritySchemes?["Bearer"]);
        Assert.Equal(SecuritySchemeType.Http, scheme.Type);
        Assert.Equal("bearer", scheme.Scheme);
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations!)
            {
                var anonymousPath = path is "/healthz" or "/readyz";
                Assert.True(anonymousPath == (operation.Security is not { Count: > 0 }), $"{method} {path}: security {operation.Security?.Count}");
                Assert.True(anonymousPath || operation.Responses!.ContainsKey("401"), $"{method} {path} declares no 401");
            }
        }
    }

    [Fact]
    public void Document_DescribesEveryRouteTheServerMaps()
    {
        var described = _contract.Operations.Select(o => o.Path).ToHashSet();
        var routes = _server.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => "/" + e.RoutePattern.RawText!.Trim('/').Replace("{**", "{", StringComparison.Ordinal))
            .Select(p => p.Length > 1 ? p.TrimEnd('/') : p)
            .Where(p => p != "/" && !p.StartsWith("/ui/", StringComparison.Ordinal) && p != "/openapi/{documentName}.json")
            .ToHashSet();

        Assert.Empty(routes.Except(described));
    }

    [Fact]
    public async Task Answers_MatchTheDocument_ForEveryEndpoint_SuccessesAndErrors()
    {
        var admin = _server.Admin;
        using var anonymous = _server.Client(null);
        var (user, _) = await _server.UserAsync("openapi-user");
        using var _u = user;

        await Check(await anonymous.GetAsync("/healthz"), "GET", "/healthz");
        await Check(await anonymous.GetAsync("/readyz"), "GET", "/readyz");
        await Check(await anonymous.GetAsync("/healthz?x=1&x=2"), "GET", "/healthz");
        await Check(await anonymous.GetAsync("/api/v1/jobs"), "GET", "/api/v1/jobs");
        await Check(await admin.GetAsync("/api/v1/me"), "GET", "/api/v1/me");

        // Jobs: an ended job with output and an artifact, a queued one, refusals.
        var ended = await Check(await admin.PostAsJsonAsync("/api/v1/jobs?wait=true", new JobSubmission
        {
            Script = "import sys\nprint('out')\nprint('err', file=sys.stderr)\nopen('result.txt', 'w').write('r')",
        }, RunboxJson.Options), "POST", "/api/v1/jobs");
        var id = Json(ended).GetProperty("id").GetString()!;
        var sleeping = await Check(await admin.PostAsJsonAsync("/api/v1/jobs", new JobSubmission
        {
            Script = "sleep 60", Language = "bash", Limits = new JobLimitsBody { TimeoutSeconds = 90 },
        }, RunboxJson.Options), "POST", "/api/v1/jobs");
        var sleepingId = Json(sleeping).GetProperty("id").GetString()!;
        // Taken as documented: a language's other words, a number as a numeric string.
        var aliased = await Check(await admin.PostAsync("/api/v1/jobs", JsonBody("""{"script":"print(1)","language":"py","limits":{"memory_mb":"256"}}""")), "POST", "/api/v1/jobs");
        Assert.Equal(256, Json(aliased).GetProperty("limits").GetProperty("memory_mb").GetInt32());
        await Check(await admin.PostAsync("/api/v1/jobs", JsonBody("""{"script":"print(1)","limits":{"timeout":5}}""")), "POST", "/api/v1/jobs");
        await Check(await admin.PostAsync("/api/v1/jobs", JsonBody("""{"script":"print(1)","language":"cobol"}""")), "POST", "/api/v1/jobs");
        await Check(await admin.PostAsync("/api/v1/jobs", new StringContent("print(1)", Encoding.UTF8, "text/plain")), "POST", "/api/v1/jobs");
        using (var once = _server.Client(_server.AdminKey))
        {
            // Its own connection: the server closes it after a 413 rather than read the rest of the body.
            await Check(await once.PostAsync("/api/v1/jobs", JsonBody($$"""{"script":"{{new string('x', 70_000)}}"}""")), "POST", "/api/v1/jobs");
        }
        await Check(await admin.PostAsync("/api/v1/jobs?wait=maybe", JsonBody("""{"script":"print(1)"}""")), "POST", "/api/v1/jobs");

        await Check(await admin.GetAsync("/api/v1/jobs?limit=5"), "GET", "/api/v1/jobs");
        await Check(await admin.GetAsync("/api/v1/jobs?status=done"), "GET", "/api/v1/jobs");
        await Check(await admin.GetAsync("/api/v1/jobs?limit=0"), "GET", "/api/v1/jobs");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}"), "GET", "/api/v1/jobs/{id}");
        await Check(await user.GetAsync($"/api/v1/jobs/{id}"), "GET", "/api/v1/jobs/{id}");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}/logs?after_seq=0&limit=10"), "GET", "/api/v1/jobs/{id}/logs");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}/logs?limit=abc"), "GET", "/api/v1/jobs/{id}/logs");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}/logs?tail=10"), "GET", "/api/v1/jobs/{id}/logs");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}/logs?tail=10&limit=5"), "GET", "/api/v1/jobs/{id}/logs");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}?output=false"), "GET", "/api/v1/jobs/{id}");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}?output=maybe"), "GET", "/api/v1/jobs/{id}");
        await Check(await admin.GetAsync("/api/v1/jobs/nope/logs"), "GET", "/api/v1/jobs/{id}/logs");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}/artifacts"), "GET", "/api/v1/jobs/{id}/artifacts");
        await Check(await admin.GetAsync("/api/v1/jobs/nope/artifacts"), "GET", "/api/v1/jobs/{id}/artifacts");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}/artifacts/result.txt"), "GET", "/api/v1/jobs/{id}/artifacts/{name}");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}/artifacts/missing.txt"), "GET", "/api/v1/jobs/{id}/artifacts/{name}");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}/stdout"), "GET", "/api/v1/jobs/{id}/stdout");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}/stderr"), "GET", "/api/v1/jobs/{id}/stderr");
        await Check(await admin.GetAsync("/api/v1/jobs/nope/stdout"), "GET", "/api/v1/jobs/{id}/stdout");
        await Check(await admin.GetAsync("/api/v1/jobs/nope/stderr"), "GET", "/api/v1/jobs/{id}/stderr");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}/events"), "GET", "/api/v1/jobs/{id}/events");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}/events?after_seq=-1"), "GET", "/api/v1/jobs/{id}/events");
        await Check(await admin.GetAsync("/api/v1/jobs/nope/events"), "GET", "/api/v1/jobs/{id}/events");
        await Check(await admin.GetAsync($"/api/v1/jobs/{id}/ws"), "GET", "/api/v1/jobs/{id}/ws");
        using (var socket = new ClientWebSocket())
        {
            socket.Options.SetRequestHeader("Authorization", $"Bearer {_server.AdminKey}");
            socket.Options.CollectHttpResponseDetails = true;
            await socket.ConnectAsync(new Uri($"ws://{_server.Address.Authority}/api/v1/jobs/{id}/ws"), CancellationToken.None);
            _contract.CheckStatus("GET", "/api/v1/jobs/{id}/ws", (int)socket.HttpStatusCode);
        }
        await Check(await admin.PostAsync($"/api/v1/jobs/{id}/cancel", null), "POST", "/api/v1/jobs/{id}/cancel");
        await Check(await admin.PostAsync($"/api/v1/jobs/{sleepingId}/cancel", null), "POST", "/api/v1/jobs/{id}/cancel");
        await Check(await admin.PostAsync("/api/v1/jobs/nope/cancel", null), "POST", "/api/v1/jobs/{id}/cancel");
        await Check(await admin.PostAsync("/api/v1/jobs/cancel", JsonBody("""{"ids":["nope"]}""")), "POST", "/api/v1/jobs/cancel");
        await Check(await admin.PostAsync("/api/v1/jobs/cancel", JsonBody("{}")), "POST", "/api/v1/jobs/cancel");
        await Check(await admin.DeleteAsync($"/api/v1/jobs/{sleepingId}"), "DELETE", "/api/v1/jobs/{id}");
        await Check(await admin.DeleteAsync($"/api/v1/jobs/{sleepingId}"), "DELETE", "/api/v1/jobs/{id}");

        // Keys: admin only.
        var key = await Check(await admin.PostAsync("/api/v1/keys", JsonBody("""{"name":"openapi"}""")), "POST", "/api/v1/keys");
        await Check(await admin.PostAsync("/api/v1/keys", JsonBody("""{"admin":true}""")), "POST", "/api/v1/keys");
        await Check(await admin.GetAsync("/api/v1/keys"), "GET", "/api/v1/keys");
        await Check(await user.GetAsync("/api/v1/keys"), "GET", "/api/v1/keys");
        await Check(await admin.DeleteAsync($"/api/v1/keys/{Json(key).GetProperty("id").GetString()}"), "DELETE", "/api/v1/keys/{id}");
        await Check(await admin.DeleteAsync("/api/v1/keys/key_nope"), "DELETE", "/api/v1/keys/{id}");

        // The compatibility adapters.
        var task = await Check(await admin.PostAsync("/execute", JsonBody("""{"script":"print(2)"}""")), "POST", "/execute");
        var taskId = Json(task).GetProperty("task_id").GetString()!;
        await Check(await admin.PostAsync("/execute", JsonBody("""{"language":"python"}""")), "POST", "/execute");
        await Check(await admin.GetAsync($"/status/{taskId}"), "GET", "/status/{task_id}");
        await admin.WaitEndedAsync(taskId);
        await Check(await admin.GetAsync($"/status/{taskId}"), "GET", "/status/{task_id}");
        await Check(await admin.GetAsync("/status/nope"), "GET", "/status/{task_id}");
        await Check(await admin.PostAsync("/api/v1/tasks", JsonBody("""{"code":"print(3)","memory_limit":"256m","cpu_limit":"0.5","timeout":10}""")), "POST", "/api/v1/tasks");
        await Check(await admin.PostAsync("/api/v1/tasks", JsonBody("""{"code":"print(3)","memory_limit":"lots"}""")), "POST", "/api/v1/tasks");
        await Check(await admin.GetAsync("/api/v1/tasks?limit=10"), "GET", "/api/v1/tasks");
        await Check(await admin.GetAsync("/api/v1/tasks?limit=500"), "GET", "/api/v1/tasks");
        foreach (var path in new[] { "/api/v1/tasks/{id}", "/api/v1/tasks/{id}/logs", "/api/v1/tasks/{id}/metrics", "/api/v1/tasks/{id}/stream" })
        {
            await Check(await admin.GetAsync(path.Replace("{id}", taskId, StringComparison.Ordinal)), "GET", path);
            await Check(await admin.GetAsync(path.Replace("{id}", "nope", StringComparison.Ordinal)), "GET", path);
        }

        // JSON-RPC's HTTP endpoints: its answers are its own, the document says only that they are JSON.
        await Check(await admin.PostAsync("/rpc", JsonBody("""{"jsonrpc":"2.0","id":1,"method":"session_list","params":{}}""")), "POST", "/rpc");
        await Check(await admin.PostAsync("/rpc", JsonBody("""{"jsonrpc":"2.0","method":"session_list","params":{}}""")), "POST", "/rpc");
        await Check(await anonymous.PostAsync("/rpc", JsonBody("{}")), "POST", "/rpc");
        await Check(await admin.GetAsync("/discovery"), "GET", "/discovery");
        await Check(await admin.GetAsync($"/sse/session/{id}"), "GET", "/sse/session/{id}");
        await Check(await admin.GetAsync("/sse/session/nope"), "GET", "/sse/session/{id}");

        // Workers and runtimes: admin only.
        await Check(await admin.GetAsync("/api/v1/workers"), "GET", "/api/v1/workers");
        await Check(await user.GetAsync("/api/v1/workers"), "GET", "/api/v1/workers");
        await Check(await admin.GetAsync("/api/v1/runtimes"), "GET", "/api/v1/runtimes");
        await Check(await admin.GetAsync("/api/v1/runtimes/default"), "GET", "/api/v1/runtimes/{name}");
        await Check(await admin.GetAsync("/api/v1/runtimes/nope"), "GET", "/api/v1/runtimes/{name}");
        await Check(await admin.PostAsync("/api/v1/runtimes", JsonBody("""{"name":"../x"}""")), "POST", "/api/v1/runtimes");
        await Check(await admin.DeleteAsync("/api/v1/runtimes/nope"), "DELETE", "/api/v1/runtimes/{name}");
        await Check(await admin.DeleteAsync("/api/v1/runtimes/default"), "DELETE", "/api/v1/runtimes/{name}");

        var undriven = _contract.Operations.Where(o => !NotDriven.Contains(o) && !_contract.Seen.Any(s => s.Method == o.Method && s.Path == o.Path));
        Assert.Empty(undriven);
    }

    [Fact]
    public async Task Answers_MatchTheDocument_WhenPastTheRateLimit()
    {
        await using var limited = await RunningServer.StartAsync(output, new Dictionary<string, string?>
        {
            ["Runbox:NoWorker"] = "true",
            ["Runbox:RateLimit:Burst"] = "2",
            ["Runbox:RateLimit:RequestsPerSecond"] = "1",
        });
        HttpResponseMessage response;
        do
        {
            response = await limited.Admin.GetAsync("/api/v1/me");
        }
        while (response.StatusCode != HttpStatusCode.TooManyRequests);

        Assert.NotNull(response.Headers.RetryAfter);
        await Check(response, "GET", "/api/v1/me");
    }

    private async Task<string> Check(HttpResponseMessage response, string method, string path)
    {
        using (response)
        {
            var body = await _contract.CheckAsync(response, method, path);
            output.WriteLine($"{method} {path} {(int)response.StatusCode}");
            return body;
        }
    }

    private static StringContent JsonBody(string json) => new(json, Encoding.UTF8, "application/json");

    private static System.Text.Json.JsonElement Json(string body) => System.Text.Json.JsonDocument.Parse(body).RootElement.Clone();
}
