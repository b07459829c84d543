using System.Net;
using System.Text;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Rpc;

/// <summary>A JSON-RPC batch counts against its key's rate limit as its calls do, not as one request.</summary>
public sealed class RpcRateLimitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ABatch_TakesOneRequestOfTheRateLimitPerCall()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?>
        {
            ["Runbox:NoWorker"] = "true",
            ["Runbox:RateLimit:Burst"] = "10",
            ["Runbox:RateLimit:RequestsPerSecond"] = "1",
        });
        // Within the burst a batch runs whole; past it the whole batch is refused, none of its calls run (here, a
        // session_start each had submitted a job: 100 a request, a hundred times what REST allows a key).
        var first = await PostBatchAsync(server, 8);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var second = await PostBatchAsync(server, 8);
        Assert.Equal((HttpStatusCode)429, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        Assert.True(second.Headers.Contains("Retry-After"));
        var listed = await server.Admin.GetAsync("/api/v1/jobs");
        Assert.Equal(8, (await listed.JsonAsync()).GetProperty("jobs").GetArrayLength());
    }

    [Fact]
    public async Task ABatch_LongerThanTheBurst_RunsOnAFullBucket_TakingTheWholeBurst()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?>
        {
            ["Runbox:NoWorker"] = "true",
            ["Runbox:RateLimit:Burst"] = "10",
            ["Runbox:RateLimit:RequestsPerSecond"] = "1",
        });
        // Until 2026-12-04 such a batch asked one permit more than the bucket ever holds: 429 every time, however long
        // its client waited as Retry-After said.
        var first = await PostBatchAsync(server, 12);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var answers = (await first.JsonAsync()).EnumerateArray().ToList();
        Assert.Equal(12, answers.Count);
        Assert.All(answers, answer => Assert.True(answer.GetProperty("result").TryGetProperty("session_id", out _)));
        // It took the whole burst: the next request waits for the bucket to refill.
        var next = await PostBatchAsync(server, 2);
        Assert.Equal((HttpStatusCode)429, next.StatusCode);
    }

    private static Task<HttpResponseMessage> PostBatchAsync(RunningServer server, int calls)
    {
        var batch = string.Join(",", Enumerable.Range(0, calls).Select(i =>
            $$"""{"jsonrpc":"2.0","method":"session_start","params":{"script":"print({{i}})"},"id":{{i}}}"""));
        return server.Admin.PostAsync("/rpc", new StringContent($"[{batch}]", Encoding.UTF8, "application/json"));
    }
}
