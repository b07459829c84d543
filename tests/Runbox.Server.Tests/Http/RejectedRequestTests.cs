using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Http;

/// <summary>
/// Requests the HTTP server itself refuses before the API sees them (a path holding %00, a malformed header): answered
/// with problem details naming what was wrong, as every other bad input is, not a bare 400.
/// </summary>
public sealed class RejectedRequestTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:NoWorker"] = "true" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task PathHoldingNul_AnswersProblemNamingThePath_OnAFreshOrAReusedConnection()
    {
        // The first request leaves its connection open, so the second is refused on a connection that served one already.
        Assert.Equal(HttpStatusCode.OK, (await _server.Admin.GetAsync("/api/v1/jobs")).StatusCode);
        var reused = await _server.Admin.GetAsync("/api/v1/jobs/%00");
        using var fresh = _server.Client(null);
        var anonymous = await fresh.GetAsync("/api/v1/jobs/a%00b?x=1");

        foreach (var response in (HttpResponseMessage[])[reused, anonymous])
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.True(response.Headers.Contains("Runbox-Version"));
            var problem = await response.JsonAsync();
            Assert.Equal(400, problem.GetProperty("status").GetInt32());
            Assert.Contains("%00", problem.GetProperty("detail").GetString());
            Assert.Contains("%00", problem.GetProperty("errors").GetProperty("path")[0].GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await _server.Admin.GetAsync("/api/v1/jobs")).StatusCode);
    }

    [Fact]
    public async Task MalformedHeader_AnswersProblemSayingTheRequestCouldNotBeRead()
    {
        // HttpClient refuses to send such a header: written by hand.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_server.Address.Host, _server.Address.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n"));

        var answer = await new StreamReader(stream, Encoding.UTF8).ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine(answer);

        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", answer);
        Assert.Contains("\r\nContent-Type: application/problem+json\r\n", answer);
        var problem = JsonDocument.Parse(answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]).RootElement;
        Assert.StartsWith("request: could not be read: Invalid request header", problem.GetProperty("detail").GetString());
    }
}
