using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Runbox.Bench.Soak;

/// <summary>A callback URL on 127.0.0.1 for the soak's webhook jobs: it answers 200 and tells who waits for a job's call.</summary>
internal sealed class WebhookReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _calls = new();
    private readonly Task _loop;

    public WebhookReceiver()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        Url = $"http://127.0.0.1:{port}/hook/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string Url { get; }

    /// <summary>The status the job's call reported, once it came (the caller gives up after its own wait).</summary>
    public Task<string> CallFor(string jobId) => _calls.GetOrAdd(jobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Forgets a job's call once its job was checked, so the receiver holds nothing for long.</summary>
    public void Forget(string jobId) => _calls.TryRemove(jobId, out _);

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using (var reader = new StreamReader(context.Request.InputStream))
            {
                var job = JsonNode.Parse(await reader.ReadToEndAsync())!;
                _calls.GetOrAdd((string)job["id"]!, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult((string)job["status"]!);
            }
            context.Response.StatusCode = 200;
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
