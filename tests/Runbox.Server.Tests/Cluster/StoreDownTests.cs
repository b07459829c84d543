using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Server.Tests.Rpc;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Cluster;

/// <summary>An API node on PostgreSQL while the database is down: clients are told to come back, not shown a 500.</summary>
[Collection(PostgresCollection.Name)]
public sealed class StoreDownTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task StoreDown_RestAnswers503WithRetryAfter_AndJsonRpcUnavailable_ThenBothRecover_AndNulIsNeverA500()
    {
        var socket = Path.Combine(Path.GetTempPath(), $"rbx-{Guid.NewGuid():N}"[..12] + ".sock");
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync("--socket", socket);
        using var client = cluster.Client(api);
        using var rpc = RpcServerFixture.SocketClient(socket);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/jobs")).StatusCode);
        // PostgreSQL's text holds no NUL, and Kestrel refuses one in a path; in a query value it must not reach the store.
        foreach (var query in (string[])["q=a%00b", "owner=key_%00", "runtime=a%00b", "cursor=a%00b"])
        {
            var page = await client.GetAsync("/api/v1/jobs?" + query);
            Assert.True(page.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"{query}: {(int)page.StatusCode} {await page.Content.ReadAsStringAsync()}");
        }
        var cancel = await client.PostAsync("/api/v1/jobs/cancel", new StringContent("""{"ids":["job\u0000x"]}""", Encoding.UTF8, "application/json"));
        Assert.True((int)cancel.StatusCode < 500, $"bulk cancel: {(int)cancel.StatusCode} {await cancel.Content.ReadAsStringAsync()}");
        var get = await CallAsync(rpc, """{"jsonrpc":"2.0","id":1,"method":"session_get","params":{"session_id":"a\u0000"}}""");
        Assert.NotEqual(-32603, get.GetProperty("error").GetProperty("code").GetInt32());

        await postgres.Server.StopAsync();
        HttpResponseMessage rest;
        HttpResponseMessage rpcOverHttp;
        JsonElement answer;
        try
        {
            rest = await client.GetAsync("/api/v1/jobs");
            answer = await SessionListAsync(rpc);
            // Over HTTP the key is checked against the store before any call is read: an HTTP answer, as a 401 is.
            rpcOverHttp = await client.PostAsync("/rpc", new StringContent("""{"jsonrpc":"2.0","id":1,"method":"session_list"}""", Encoding.UTF8, "application/json"));
        }
        finally
        {
            await postgres.Server.StartAgainAsync();
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, rest.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), rest.Headers.RetryAfter?.Delta);
        var problem = JsonDocument.Parse(await rest.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("job store cannot be reached", problem.GetProperty("detail").GetString());
        var error = answer.GetProperty("error");
        Assert.Equal(-32004, error.GetProperty("code").GetInt32());
        Assert.Contains("job store cannot be reached", error.GetProperty("data").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, rpcOverHttp.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), rpcOverHttp.Headers.RetryAfter?.Delta);
        Assert.Contains(api.Output, line => line.Contains("answered 503: the store is unreachable"));
        await ClusterApi.UntilAsync(async () => (await client.GetAsync("/api/v1/jobs")).StatusCode == HttpStatusCode.OK, 60, "REST answers again");
        Assert.True((await SessionListAsync(rpc)).TryGetProperty("result", out _));
    }

    [SkippableFact]
    public async Task StoreDown_MidStream_EndsTheSseStreamCleanly_AndClosesTheWebSocketAsUnavailable()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        using var client = cluster.Client(api);
        // An API node runs no jobs: this one stays queued, and its streams open.
        var job = await client.SubmitOkAsync(new JobSubmission { Script = "print(1)" });
        using var sse = await client.GetAsync($"/api/v1/jobs/{job.Id}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, sse.StatusCode);
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {cluster.AdminKey}");
        await socket.ConnectAsync(new Uri(new Uri(api.Address, $"/api/v1/jobs/{job.Id}/ws").ToString().Replace("http://", "ws://", StringComparison.Ordinal)), CancellationToken.None);

        await postgres.Server.StopAsync();
        string body;
        try
        {
            // Both end within a poll of the store (2 s), as when the server stops: the client resumes from its last event.
            body = await sse.Content.ReadAsStringAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var buffer = new byte[1024];
            WebSocketReceiveResult received;
            do
            {
                received = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            }
            while (received.MessageType != WebSocketMessageType.Close);
        }
        finally
        {
            await postgres.Server.StartAgainAsync();
        }

        Assert.DoesNotContain("event: result", body);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
        Assert.Equal("store unavailable", socket.CloseStatusDescription);
        Assert.Contains(api.Output, line => line.Contains($"The live stream /api/v1/jobs/{job.Id}/events ended early: the store is unreachable"));
    }

    [SkippableFact]
    public async Task StoreDown_ReadyzAnswers503WithRetryAfter_ThenReadyAgain()
    {
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        var api = await cluster.StartApiAsync();
        using var anonymous = new HttpClient { BaseAddress = api.Address };
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/readyz")).StatusCode);

        await postgres.Server.StopAsync();
        HttpResponseMessage notReady;
        try
        {
            notReady = await anonymous.GetAsync("/readyz");
        }
        finally
        {
            await postgres.Server.StartAgainAsync();
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        // A balancer or client that honours Retry-After comes back in a few seconds rather than at once.
        Assert.Equal(TimeSpan.FromSeconds(5), notReady.Headers.RetryAfter?.Delta);
        var body = JsonDocument.Parse(await notReady.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("not_ready", body.GetProperty("status").GetString());
        Assert.False(body.GetProperty("store").GetBoolean());
        await ClusterApi.UntilAsync(async () => (await anonymous.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, 60, "/readyz ready again");
        Assert.Null((await anonymous.GetAsync("/readyz")).Headers.RetryAfter);
    }

    private static Task<JsonElement> SessionListAsync(HttpClient rpc) => CallAsync(rpc, """{"jsonrpc":"2.0","id":1,"method":"session_list"}""");

    private static async Task<JsonElement> CallAsync(HttpClient rpc, string call)
    {
        var response = await rpc.PostAsync("/rpc", new StringContent(call, Encoding.UTF8, "application/json"));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
