using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Server.Tests.Runtimes;

namespace Runbox.Server.Tests.Rpc;

/// <summary>One server for the JSON-RPC tests, and an HttpClient that talks to it over its real Unix socket.</summary>
public sealed class RpcServerFixture : IAsyncLifetime
{
    public RunningServer Server { get; private set; } = null!;

    public HttpClient Socket { get; private set; } = null!;

    public string SocketPath => Path.Combine(Server.DataDirectory, "runbox.sock");

    public async Task InitializeAsync()
    {
        Server = await RuntimeServer.StartAsync(null!);
        Socket = SocketClient(SocketPath);
    }

    public static HttpClient SocketClient(string path) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { BaseAddress = new Uri("http://runbox.sock"), Timeout = TimeSpan.FromSeconds(120) };

    /// <summary>Posts raw text to /rpc; returns the status and the parsed body (null when empty).</summary>
    public async Task<(int Status, JsonElement? Body)> PostAsync(string body, HttpClient? client = null)
    {
        var response = await (client ?? Socket).PostAsync("/rpc", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Calls one method and returns its result; fails the test on an error response.</summary>
    public async Task<JsonElement> CallAsync(string method, object? parameters = null)
    {
        var response = await ErrorOrResultAsync(method, parameters);
        Assert.False(response.TryGetProperty("error", out var error), $"{method}: {error}");
        return response.GetProperty("result");
    }

    public async Task<JsonElement> ErrorOrResultAsync(string method, object? parameters = null, HttpClient? client = null)
    {
        var request = new Dictionary<string, object?> { ["jsonrpc"] = "2.0", ["id"] = 7, ["method"] = method };
        if (parameters is not null)
        {
            request["params"] = parameters;
        }
        var (status, body) = await PostAsync(JsonSerializer.Serialize(request), client);
        Assert.Equal(200, status);
        Assert.Equal(7, body!.Value.GetProperty("id").GetInt32());
        Assert.Equal("2.0", body.Value.GetProperty("jsonrpc").GetString());
        return body.Value;
    }

    /// <summary>The error code of a call that must fail.</summary>
    public async Task<(int Code, string Data)> ErrorAsync(string method, object? parameters = null, HttpClient? client = null)
    {
        var response = await ErrorOrResultAsync(method, parameters, client);
        Assert.True(response.TryGetProperty("error", out var error), $"{method} succeeded: {response}");
        return (error.GetProperty("code").GetInt32(), error.TryGetProperty("data", out var data) ? data.GetString() ?? "" : "");
    }

    public async Task<JsonElement> WaitResultAsync(string sessionId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var result = await CallAsync("session_result", new { session_id = sessionId });
            if (result.ValueKind != JsonValueKind.Null)
            {
                return result;
            }
            Assert.True(DateTime.UtcNow < deadline, $"session {sessionId} did not end");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        Socket.Dispose();
        await Server.DisposeAsync();
    }
}
