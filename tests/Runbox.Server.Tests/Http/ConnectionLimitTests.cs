using System.Net;
using System.Net.Sockets;
using System.Text;
using Runbox.Server.Http;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Server.Tests.Rpc;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Http;

/// <summary>Runbox:MaxConnections: how many connections an address holds, and what the one past it gets.</summary>
public sealed class ConnectionLimitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ConnectionPastTheCap_IsClosedUnanswered_WhileOpenOnesAndALiveStreamGoOn()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:MaxConnections"] = "3" });
        JobResponse job;
        using (var submitter = server.Client(server.AdminKey))
        {
            // Disposed: its pooled connection would hold one of the three.
            job = await submitter.SubmitOkAsync(new JobSubmission
            {
                Script = "import time\nfor i in range(12):\n    print(i, flush=True)\n    time.sleep(0.5)",
            });
        }
        using var follower = server.Client(server.AdminKey);
        await using var events = await follower.GetStreamAsync($"/api/v1/jobs/{job.Id}/events");
        using var reader = new StreamReader(events);
        Assert.StartsWith("event: log", await reader.ReadLineAsync());

        // The follow holds one connection; two more answer, kept open; the fourth is closed as it comes.
        var open = new List<Socket>();
        try
        {
            await OpenAnsweredAsync(server.Address, 2, open);
            using var past = await ConnectAsync(server.Address);
            var refused = await HealthzAsync(past);
            var stillOpen = await HealthzAsync(open[0]);
            using var socket = RpcServerFixture.SocketClient(Path.Combine(server.DataDirectory, "runbox.sock"));
            var overSocket = await socket.GetAsync("/healthz");
            var rest = await reader.ReadToEndAsync();

            Assert.Equal("", refused);
            Assert.StartsWith("HTTP/1.1 200", stillOpen);
            // Each address counts its own: HTTP clients at the cap leave the socket's admin a way in.
            Assert.Equal(System.Net.HttpStatusCode.OK, overSocket.StatusCode);
            // The live stream was not cut: it went on to the job's last line and its result.
            Assert.Contains("\"text\":\"11\"", rest);
            Assert.Contains("event: result\n", rest);

            open[0].Dispose();
            open.RemoveAt(0);
            Assert.StartsWith("HTTP/1.1 200", await HealthzOnceAPlaceIsFreeAsync(server.Address));
        }
        finally
        {
            open.ForEach(connection => connection.Dispose());
        }
    }

    [Fact]
    public async Task OneClientAtItsCap_IsRefusedMore_WhileAnotherClientIsAnswered()
    {
        // The attack: a client with no key opens connections until the address's cap is reached, and nobody else,
        // an admin included, can reach HTTP. Each client address now holds at most MaxConnectionsPerClient of them.
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?>
        {
            ["Runbox:MaxConnections"] = "5",
            ["Runbox:MaxConnectionsPerClient"] = "2",
        });
        var open = new List<Socket>();
        try
        {
            await OpenAnsweredAsync(server.Address, 2, open);
            using var third = await ConnectAsync(server.Address);
            var refused = await HealthzAsync(third);
            // Refused by the dozen, a client writes one log line, not one each: it could fill the log's disk otherwise.
            for (var i = 0; i < 20; i++)
            {
                using var more = await ConnectAsync(server.Address);
                Assert.Equal("", await HealthzAsync(more));
            }
            // Another loopback address is another client (Linux answers all of 127.0.0.0/8 on lo).
            using var other = await ConnectAsync(server.Address, from: IPAddress.Parse("127.0.0.2"));
            var answered = await HealthzAsync(other);

            Assert.Equal("", refused);
            Assert.StartsWith("HTTP/1.1 200", answered);
            // The refusals are logged, naming the client, once every 10 s: once here, twice should the host stall past 10 s.
            Assert.InRange(server.Logs.Events.Count(e => e.Id == 1009), 1, 2);

            // A connection that closes gives its place back to its client.
            open[0].Dispose();
            open.RemoveAt(0);
            Assert.StartsWith("HTTP/1.1 200", await HealthzOnceAPlaceIsFreeAsync(server.Address));
        }
        finally
        {
            open.ForEach(connection => connection.Dispose());
        }
    }

    [Theory]
    [InlineData("::ffff:10.1.2.3", "10.1.2.3")]
    [InlineData("10.1.2.3", "10.1.2.3")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::")]
    public void AnIPv6Client_IsItsSlash64_SoFreshAddressesDoNotEscapeTheCap(string address, string client) =>
        Assert.Equal(IPAddress.Parse(client), ClientConnectionLimit.ClientOf(IPAddress.Parse(address)));

    [Fact]
    public async Task Start_IsRefusedNamingTheSetting_WhenMaxConnectionsPerClientIsBelowOne()
    {
        var error = await Assert.ThrowsAnyAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:MaxConnectionsPerClient"] = "0" }));

        Assert.Contains("Runbox:MaxConnectionsPerClient must be at least 1 (got 0).", error.Message);
    }

    [Fact]
    public async Task Start_IsRefusedNamingTheSetting_WhenMaxConnectionsIsBelowOne()
    {
        var error = await Assert.ThrowsAnyAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:MaxConnections"] = "0" }));

        Assert.Contains("Runbox:MaxConnections must be at least 1 (got 0).", error.Message);
    }

    /// <summary>Opens <paramref name="count"/> connections, each answered, into <paramref name="open"/> (the caller closes them).</summary>
    private static async Task OpenAnsweredAsync(Uri address, int count, List<Socket> open)
    {
        for (var i = 0; i < count; i++)
        {
            var connection = await ConnectAsync(address);
            open.Add(connection);
            Assert.StartsWith("HTTP/1.1 200", await HealthzAsync(connection));
        }
    }

    private static async Task<Socket> ConnectAsync(Uri address, IPAddress? from = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (from is not null)
        {
            socket.Bind(new IPEndPoint(from, 0));
        }
        await socket.ConnectAsync(address.Host, address.Port);
        return socket;
    }

    /// <summary>
    /// GET /healthz on a new connection, tried again for up to 5 s while refused: the server frees a closed connection's
    /// place once it has seen the close, a moment after the client's close returns, so one made at once can still be refused.
    /// </summary>
    private static async Task<string> HealthzOnceAPlaceIsFreeAsync(Uri address)
    {
        var answer = "";
        for (var tries = 0; tries < 50 && answer.Length == 0; tries++)
        {
            await Task.Delay(100);
            using var connection = await ConnectAsync(address);
            answer = await HealthzAsync(connection);
        }
        return answer;
    }

    /// <summary>The answer's head to GET /healthz on this connection, kept alive; "" when the server closed it instead.</summary>
    private static async Task<string> HealthzAsync(Socket connection)
    {
        await connection.SendAsync("GET /healthz HTTP/1.1\r\nHost: runbox\r\n\r\n"u8.ToArray());
        var received = new StringBuilder();
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await connection.ReceiveAsync(buffer, deadline.Token);
                if (read == 0)
                {
                    break;
                }
                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (SocketException)
        {
            // Reset rather than closed: refused all the same.
        }
        var text = received.ToString();
        var head = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (head < 0)
        {
            return text;
        }
        // Read the body too (chunked), so that the next answer on this connection starts with its own head.
        while (!received.ToString().EndsWith("0\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await connection.ReceiveAsync(buffer, deadline.Token);
            Assert.NotEqual(0, read);
            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
        return text[..head];
    }
}
