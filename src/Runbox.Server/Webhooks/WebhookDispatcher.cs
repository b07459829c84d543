using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Runbox.Server.Configuration;
using Runbox.Server.Http;
using Runbox.Server.Jobs;
using Runbox.Storage;

namespace Runbox.Server.Webhooks;

/// <summary>
/// POSTs a job's final JSON to its callback URL, signed, retrying with doubling delays. Deliveries live in memory:
/// one pending when the process dies is not sent (the job itself is safe in the store).
/// </summary>
public sealed class WebhookDispatcher : BackgroundService
{
    private readonly Channel<(string JobId, string Url)> _queue = Channel.CreateUnbounded<(string, string)>();
    private readonly IJobStore _store;
    private readonly WebhookSecret _secret;
    private readonly WebhookOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly HttpClient _client;

    public WebhookDispatcher(IJobStore store, WebhookSecret secret, IOptions<RunboxOptions> options, TimeProvider time, ILogger<WebhookDispatcher> logger)
    {
        _store = store;
        _secret = secret;
        _options = options.Value.Webhooks;
        _time = time;
        _logger = logger;
        var allowPrivate = _options.AllowPrivateAddresses;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            // Checked at connect time on the address actually dialled, so a name that resolves to an internal
            // address (or changes to one after submit) is still refused.
            ConnectCallback = async (context, cancellationToken) =>
            {
                var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
                var allowed = addresses.Where(a => allowPrivate || !CallbackAddressPolicy.IsInternal(a)).ToArray();
                if (allowed.Length == 0)
                {
                    throw new HttpRequestException($"{context.DnsEndPoint.Host} resolves only to internal addresses, which callbacks may not reach.");
                }
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(_options.TimeoutSeconds) };
    }

    public void Enqueue(string jobId, string url) => _queue.Writer.TryWrite((jobId, url));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var inFlight = new List<Task>();
        try
        {
            await foreach (var (jobId, url) in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                inFlight.RemoveAll(t => t.IsCompleted);
                inFlight.Add(DeliverAsync(jobId, url, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await Task.WhenAll(inFlight);
    }

    public override void Dispose()
    {
        _client.Dispose();
        base.Dispose();
    }

    private async Task DeliverAsync(string jobId, string url, CancellationToken stoppingToken)
    {
        var job = await _store.GetJobAsync(jobId, withOutput: true, withSubmission: false, CancellationToken.None);
        if (job is null)
        {
            return;
        }
        var artifacts = await _store.ListArtifactsAsync(jobId, CancellationToken.None);
        var body = JsonSerializer.SerializeToUtf8Bytes(job.ToResponse(artifacts), RunboxJsonContext.Default.JobResponse);
        var delivery = Guid.NewGuid().ToString("N");
        var delay = TimeSpan.FromSeconds(_options.InitialBackoffSeconds);
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            try
            {
                var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new("application/json");
                request.Headers.Add(WebhookSigner.SignatureHeader, WebhookSigner.Sign(_secret.Value, timestamp, body));
                request.Headers.Add(WebhookSigner.TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
                request.Headers.Add(WebhookSigner.EventHeader, "job.finished");
                request.Headers.Add(WebhookSigner.DeliveryHeader, delivery);
                using var response = await _client.SendAsync(request, stoppingToken);
                if (response.IsSuccessStatusCode)
                {
                    ServerLog.WebhookDelivered(_logger, jobId, url, (int)response.StatusCode);
                    return;
                }
                ServerLog.WebhookFailed(_logger, jobId, url, attempt, $"HTTP {(int)response.StatusCode}");
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or SocketException)
            {
                ServerLog.WebhookFailed(_logger, jobId, url, attempt, e.Message);
            }
            if (attempt < _options.MaxAttempts)
            {
                try
                {
                    await Task.Delay(delay, _time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                delay *= 2;
            }
        }
        ServerLog.WebhookAbandoned(_logger, jobId, url, _options.MaxAttempts);
    }
}
