using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Runbox.Bench.Soak;

/// <summary>
/// The kinds of job the soak sends, each as a client of the server would: through <c>?wait=true</c>, polling, live
/// streams read to the end or dropped mid-stream, cancels, artifacts, deletes, and JSON-RPC on the Unix socket. Each
/// returns the job's final status, which the soak compares with what the kind should end with.
/// </summary>
internal sealed class SoakJobs(Uri server, string key, string socketPath) : IDisposable
{
    private readonly WebhookReceiver _webhooks = new();

    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
    {
        BaseAddress = server,
        Timeout = TimeSpan.FromSeconds(90),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", key) },
    };

    private readonly HttpClient _rpc = UnixSocketClient(socketPath);

    /// <summary>A kind of job: its name, how often it comes (weight), the status it must end with, and how it runs.</summary>
    public sealed record Kind(string Name, int Weight, string Expected, Func<SoakJobs, Task<string>> Run);

    public static readonly Kind[] Mix =
    [
        new("hello ?wait=true", 20, "succeeded", j => j.WaitAsync(new { script = "print('hello world')" })),
        new("hello polled", 8, "succeeded", j => j.SubmitAndPollAsync(new { script = "print('hello world')" })),
        new("bash", 6, "succeeded", j => j.WaitAsync(new { script = "echo hi; for i in 1 2 3; do echo $i; done", language = "bash" })),
        new("node", 4, "succeeded", j => j.WaitAsync(new { script = "console.log('hi', process.version)", language = "node" })),
        new("fresh python", 3, "succeeded", j => j.WaitAsync(new { script = "import sys; print(sys.argv)", fresh = true })),
        new("prints a lot", 6, "succeeded", j => j.WaitAsync(new { script = "for i in range(5000):\n    print(i, 'x' * 60)" })),
        new("wall timeout", 3, "timed_out", j => j.WaitAsync(new { script = "import time; time.sleep(30)", limits = new { timeout_seconds = 1 } })),
        new("cpu limit", 1, "timed_out", j => j.WaitAsync(new { script = "while True: pass", limits = new { cpu_seconds = 1 } })),
        new("memory limit", 3, "failed", j => j.WaitAsync(new { script = "x = bytearray(300 * 1024 * 1024)\nprint(len(x))", limits = new { memory_mb = 64 } })),
        new("output limit", 3, "failed", j => j.WaitAsync(new { script = "while True: print('y' * 1000)", limits = new { output_bytes = 65536 } })),
        new("process limit", 2, "failed", j => j.WaitAsync(new { script = "import subprocess\nps = [subprocess.Popen(['sleep', '5']) for _ in range(40)]", limits = new { processes = 16 } })),
        new("leaves a daemon", 3, "succeeded", j => j.WaitAsync(new { script = "(sleep 30 &); nohup sleep 30 >/dev/null 2>&1 & setsid sleep 30 & echo started", language = "bash" })),
        new("artifacts", 6, "succeeded", j => j.ArtifactsAsync()),
        new("cancelled running", 4, "cancelled", j => j.CancelAsync()),
        new("SSE to the end", 4, "succeeded", j => j.SseAsync(drop: false)),
        new("SSE dropped", 5, "succeeded", j => j.SseAsync(drop: true)),
        new("WebSocket to the end", 3, "succeeded", j => j.WebSocketAsync(drop: false)),
        new("WebSocket dropped", 5, "succeeded", j => j.WebSocketAsync(drop: true)),
        new("?wait=true dropped", 5, "succeeded", j => j.WaitDroppedAsync()),
        new("JSON-RPC session", 6, "succeeded", j => j.RpcAsync(newConnection: false)),
        new("JSON-RPC, own connection", 3, "succeeded", j => j.RpcAsync(newConnection: true)),
        new("webhook", 4, "succeeded", j => j.WebhookAsync()),
        new("runtime made and deleted", 1, "succeeded", j => j.RuntimeCycleAsync()),
    ];

    /// <summary>A third of the ended jobs are deleted by their client; the server's retention sweeps the rest.</summary>
    private static bool DeleteAfter => Random.Shared.Next(3) == 0;

    private const string SlowPrinter = "import time\nfor i in range(10):\n    print(i, flush=True)\n    time.sleep(0.1)";

    private async Task<string> WaitAsync(object body)
    {
        using var response = await _http.PostAsJsonAsync("/api/v1/jobs?wait=true", body);
        var job = await JobAsync(response);
        return await EndAsync(job);
    }

    private async Task<string> WebhookAsync()
    {
        using var response = await _http.PostAsJsonAsync("/api/v1/jobs?wait=true", new { script = "print('called back')", callback_url = _webhooks.Url });
        var job = await JobAsync(response);
        var id = (string)job["id"]!;
        var call = _webhooks.CallFor(id);
        try
        {
            if (await Task.WhenAny(call, Task.Delay(TimeSpan.FromSeconds(30))) != call)
            {
                return "no webhook call within 30 s";
            }
            var status = await EndAsync(job);
            return await call == status ? status : $"the webhook said {await call}, the job {status}";
        }
        finally
        {
            _webhooks.Forget(id);
        }
    }

    /// <summary>A runtime's whole life, as an operator's installs and deletes come now and then: each gets a zygote of its own.</summary>
    private async Task<string> RuntimeCycleAsync()
    {
        var name = "soak-" + Guid.NewGuid().ToString("N")[..8];
        using (var created = await _http.PostAsJsonAsync("/api/v1/runtimes", new { name }))
        {
            await JobAsync(created);
        }
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var state = (string)(await _http.GetFromJsonAsync<JsonObject>($"/api/v1/runtimes/{name}"))!["state"]!;
                if (state == "operational")
                {
                    break;
                }
                if (state == "failed" || attempt > 1200)
                {
                    return $"runtime {state}";
                }
                await Task.Delay(100);
            }
            return await WaitAsync(new { script = "import sys; print(sys.prefix)", runtime = name });
        }
        finally
        {
            using var deleted = await _http.DeleteAsync($"/api/v1/runtimes/{name}");
            deleted.EnsureSuccessStatusCode();
        }
    }

    private async Task<string> SubmitAndPollAsync(object body)
    {
        var id = await SubmitAsync(body);
        return await EndAsync(await PollAsync(id));
    }

    private async Task<string> ArtifactsAsync()
    {
        const string script = "import os\nos.makedirs('out', exist_ok=True)\nopen('out/report.txt', 'w').write('done\\n' * 100)\n" +
                              "open('data.bin', 'wb').write(os.urandom(100_000))\nprint('wrote')";
        using var response = await _http.PostAsJsonAsync("/api/v1/jobs?wait=true", new { script });
        var job = await JobAsync(response);
        var id = (string)job["id"]!;
        var list = await _http.GetFromJsonAsync<JsonObject>($"/api/v1/jobs/{id}/artifacts");
        if (list!["artifacts"]!.AsArray().Count != 2)
        {
            return "artifacts missing: " + list.ToJsonString();
        }
        var bytes = await _http.GetByteArrayAsync($"/api/v1/jobs/{id}/artifacts/data.bin");
        return bytes.Length == 100_000 ? await EndAsync(job) : $"artifact of {bytes.Length} bytes";
    }

    private async Task<string> CancelAsync()
    {
        var id = await SubmitAsync(new { script = "import time\nprint('started', flush=True)\ntime.sleep(30)" });
        await Task.Delay(Random.Shared.Next(50, 600));
        using (var cancel = await _http.PostAsync($"/api/v1/jobs/{id}/cancel", null))
        {
            // 409: it ended first (it cannot here: it sleeps 30 s).
            cancel.EnsureSuccessStatusCode();
        }
        return await EndAsync(await PollAsync(id));
    }

    private async Task<string> SseAsync(bool drop)
    {
        var id = await SubmitAsync(new { script = SlowPrinter });
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/jobs/{id}/events"))
        using (var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var logs = 0;
            var sawResult = false;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line == "event: log" && ++logs == 3 && drop)
                {
                    break;
                }
                sawResult |= line == "event: result";
            }
            if (!drop && !sawResult)
            {
                return "SSE stream ended without a result event";
            }
        }
        return await EndAsync(await PollAsync(id));
    }

    private async Task<string> WebSocketAsync(bool drop)
    {
        var id = await SubmitAsync(new { script = SlowPrinter });
        using (var socket = new ClientWebSocket())
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + key);
            var ws = new UriBuilder(server) { Scheme = "ws", Path = $"/api/v1/jobs/{id}/ws" }.Uri;
            await socket.ConnectAsync(ws, CancellationToken.None);
            var buffer = new byte[64 * 1024];
            var messages = 0;
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                if (received.EndOfMessage && ++messages == 3 && drop)
                {
                    // Half go without a word (a client killed), half close politely.
                    if (Random.Shared.Next(2) == 0)
                    {
                        socket.Abort();
                    }
                    else
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    }
                    break;
                }
            }
        }
        return await EndAsync(await PollAsync(id));
    }

    private async Task<string> WaitDroppedAsync()
    {
        // The client never hears the job's id: it finds it by a marker in its script.
        var marker = "soak-" + Guid.NewGuid().ToString("N");
        using (var gone = new CancellationTokenSource(TimeSpan.FromMilliseconds(Random.Shared.Next(100, 800))))
        {
            try
            {
                using var response = await _http.PostAsJsonAsync("/api/v1/jobs?wait=true",
                    new { script = $"# {marker}\nimport time\ntime.sleep(1.5)\nprint('done')" }, gone.Token);
                return "?wait=true answered before the client left: " + response.StatusCode;
            }
            catch (OperationCanceledException)
            {
            }
        }
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var list = await _http.GetFromJsonAsync<JsonObject>($"/api/v1/jobs?q={marker}");
            if (list!["jobs"]!.AsArray().FirstOrDefault() is { } job)
            {
                return await EndAsync(await PollAsync((string)job["id"]!));
            }
            await Task.Delay(100);
        }
        return "the job of a dropped ?wait=true was not found";
    }

    private async Task<string> RpcAsync(bool newConnection)
    {
        var own = newConnection ? UnixSocketClient(socketPath) : null;
        try
        {
            var rpc = own ?? _rpc;
            var started = await CallAsync(rpc, "session_start", new { script = "import sys\nprint('from rpc')\nprint('err', file=sys.stderr)", timeout_ms = 10_000 });
            var id = (string)started["session_id"]!;
            for (var attempt = 0; attempt < 600; attempt++)
            {
                var result = await CallAsync(rpc, "session_result", new { session_id = id });
                if (result is JsonObject job)
                {
                    var logs = await CallAsync(rpc, "session_logs", new { session_id = id });
                    if (logs["lines"]!.AsArray().Count != 2)
                    {
                        return "session_logs: " + logs.ToJsonString();
                    }
                    if (DeleteAfter)
                    {
                        await CallAsync(rpc, "session_delete", new { session_id = id });
                    }
                    return (string)job["status"]!;
                }
                await Task.Delay(50);
            }
            return "session did not end";
        }
        finally
        {
            own?.Dispose();
        }
    }

    private static async Task<JsonNode> CallAsync(HttpClient rpc, string method, object parameters)
    {
        using var response = await rpc.PostAsJsonAsync("/rpc", new { jsonrpc = "2.0", id = 1, method, @params = parameters });
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>();
        if (answer!["error"] is { } error)
        {
            throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
        }
        return answer["result"] ?? JsonValue.Create("null")!;
    }

    private async Task<string> SubmitAsync(object body)
    {
        using var response = await _http.PostAsJsonAsync("/api/v1/jobs", body);
        return (string)(await JobAsync(response))["id"]!;
    }

    private async Task<JsonObject> PollAsync(string id)
    {
        for (var attempt = 0; ; attempt++)
        {
            var job = await _http.GetFromJsonAsync<JsonObject>($"/api/v1/jobs/{id}");
            if ((string)job!["status"]! is not ("queued" or "running"))
            {
                return job;
            }
            if (attempt > 1200)
            {
                throw new TimeoutException($"job {id} still {(string)job["status"]!} after 2 minutes");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>The job's status once ended (polled on when <c>?wait=true</c> gave up), deleting a third of them.</summary>
    private async Task<string> EndAsync(JsonObject job)
    {
        var id = (string)job["id"]!;
        if ((string)job["status"]! is "queued" or "running")
        {
            job = await PollAsync(id);
        }
        if (DeleteAfter)
        {
            using var deleted = await _http.DeleteAsync($"/api/v1/jobs/{id}");
            deleted.EnsureSuccessStatusCode();
        }
        var status = (string)job["status"]!;
        return status == "error" ? $"error: {(string?)job["error"]}" : status;
    }

    private static async Task<JsonObject> JobAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"HTTP {(int)response.StatusCode}: {text}");
        }
        return JsonNode.Parse(text)!.AsObject();
    }

    private static HttpClient UnixSocketClient(string path) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, token) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), token);
            return new NetworkStream(socket, ownsSocket: true);
        },
    })
    {
        BaseAddress = new Uri("http://localhost"),
        Timeout = TimeSpan.FromSeconds(60),
    };

    public void Dispose()
    {
        _webhooks.Dispose();
        _http.Dispose();
        _rpc.Dispose();
    }

    internal static string Describe(Exception e) => e is AggregateException { InnerException: { } inner } ? Describe(inner) : $"{e.GetType().Name}: {e.Message}";
}
