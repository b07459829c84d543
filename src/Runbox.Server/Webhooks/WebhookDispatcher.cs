using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Runbox.Execution.Jobs;
using Runbox.Server.Configuration;
using Runbox.Server.Http;
using Runbox.Server.Jobs;
using Runbox.Storage;
using Runbox.Storage.Jobs;

namespace Runbox.Server.Webhooks;

/// <summary>
/// POSTs a job's final JSON to its callback URL, signed, retrying with doubling delays. Deliveries live in memory:
/// one pending when the process dies is not sent (the job itself is safe in the store).
/// </summary>
public sealed class WebhookDispatcher : BackgroundService
{
    /// <summary>
    /// Above this much stdout and stderr together, the payload leaves them out (null, as in a list): a body of up to twice
    /// <c>Maximums:OutputBytes</c> (64 MiB each), escaped, would be held in memory through every retry and sent each time.
    /// </summary>
    public const int MaxOutputBytes = 1024 * 1024;

    /// <summary>
    /// How long a stop lets attempts finish: those under way and those of jobs the worker's drain just ended (stopped
    /// after this, it queues them last). Short, within the host's shutdown timeout; retries are not waited for.
    /// </summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

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

    /// <summary>
    /// Queues the callback of a job a cancel ended while it was queued (cancelled, no worker ever held it): no worker
    /// ran it, so nothing else would. A job the cancel found running (or that ended meanwhile) is its worker's to send.
    /// </summary>
    /// <param name="ended">The store says this cancel ended the job. Cancels that cross (a double click, a bulk cancel
    /// beside a single one) each read it queued and each get it back cancelled: the job alone said nothing of which one
    /// ended it, and each sent the callback.</param>
    public void EnqueueIfCancelledWhileQueued(JobRecord? job, bool ended)
    {
        if (ended && job is { Status: JobStatus.Cancelled, Worker: null, Spec.CallbackUrl: { } url })
        {
            Enqueue(job.Id, url);
        }
    }

    /// <summary>
    /// Of the jobs a rescue changed, queues the callbacks of those it ended as "worker lost" (the store's words): those
    /// it re-queued are sent by the worker that runs them next, even one that did so before this read.
    /// </summary>
    public async Task EnqueueIfRescuedToEndAsync(IEnumerable<string> jobIds, CancellationToken cancellationToken)
    {
        foreach (var id in jobIds)
        {
            if (await _store.GetJobAsync(id, withOutput: false, withSubmission: false, cancellationToken) is { Status: JobStatus.Error, Outcome.Error: "worker lost", Spec.CallbackUrl: { } url })
            {
                Enqueue(id, url);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var inFlight = new List<Task>();
        // Sends are cut off StopGrace after the stop, not at once: a job the drain ended has its callback sent.
        using var abort = new CancellationTokenSource();
        await using var onStop = stoppingToken.Register(() => abort.CancelAfter(StopGrace));
        try
        {
            await foreach (var (jobId, url) in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                inFlight.RemoveAll(t => t.IsCompleted);
                inFlight.Add(DeliverAsync(jobId, url, stoppingToken, abort.Token));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        while (_queue.Reader.TryRead(out var queued))
        {
            inFlight.Add(DeliverAsync(queued.JobId, queued.Url, stoppingToken, abort.Token));
        }
        await Task.WhenAll(inFlight);
    }

    public override void Dispose()
    {
        _client.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// The callback's body, or null when the job is gone. A method of its own so that the job as read (its output, up to
    /// 64 MiB a stream) is not kept in <see cref="DeliverAsync"/>'s state through every retry's wait, only the body.
    /// </summary>
    private async Task<byte[]?> PayloadAsync(string jobId)
    {
        var job = await _store.GetJobAsync(jobId, withOutput: true, withSubmission: false, CancellationToken.None);
        if (job is null)
        {
            return null;
        }
        var artifacts = await _store.ListArtifactsAsync(jobId, CancellationToken.None);
        var payload = job.ToResponse(artifacts);
        if (job.Outcome is { } outcome && (long)outcome.Stdout.Length + outcome.Stderr.Length > MaxOutputBytes)
        {
            payload = payload with { Stdout = null, Stderr = null };
        }
        return JsonSerializer.SerializeToUtf8Bytes(payload, RunboxJsonContext.Default.JobResponse);
    }

    /// <param name="stoppingToken">The server stops: no retry is waited for.</param>
    /// <param name="abort">The stop's grace is over: an attempt under way is given up.</param>
    private async Task DeliverAsync(string jobId, string url, CancellationToken stoppingToken, CancellationToken abort)
    {
        if (await PayloadAsync(jobId) is not { } body)
        {
            return;
        }
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
                // The status is the answer: the body is never read, so a receiver that sends a huge or endless one
                // neither fills memory nor turns a delivered 200 into a timeout and a retry.
                using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, abort);
                if (response.IsSuccessStatusCode)
                {
                    ServerLog.WebhookDelivered(_logger, jobId, url, (int)response.StatusCode);
                    return;
                }
                if (response.StatusCode == HttpStatusCode.Gone)
                {
                    // The receiver says the endpoint is gone for good: retrying only repeats the answer.
                    ServerLog.WebhookGone(_logger, jobId, url, attempt);
                    return;
                }
                ServerLog.WebhookFailed(_logger, jobId, url, attempt, $"HTTP {(int)response.StatusCode}");
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                ServerLog.WebhookDropped(_logger, jobId, url, attempt);
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
                    // Pending deliveries live in memory: this one ends with the process, and the log says so.
                    ServerLog.WebhookDropped(_logger, jobId, url, attempt);
                    return;
                }
                delay *= 2;
            }
        }
        ServerLog.WebhookAbandoned(_logger, jobId, url, _options.MaxAttempts);
    }
}
