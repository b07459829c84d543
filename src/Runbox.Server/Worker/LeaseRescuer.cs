using Microsoft.Extensions.Options;
using Runbox.Server.Configuration;
using Runbox.Storage;

namespace Runbox.Server.Worker;

/// <summary>
/// On every node, API or worker: ends or re-queues jobs whose lease ran out (their worker died). Any node may do it,
/// and several at once is harmless (the store skips rows another rescuer holds), so a cluster needs no leader.
/// </summary>
internal sealed class LeaseRescuer(
    IJobStore store, IOptions<RunboxOptions> options, TimeProvider time, Webhooks.WebhookDispatcher webhooks, ILogger<LeaseRescuer> logger)
    : BackgroundService
{
    /// <summary>
    /// A single node checks every second, so a job its killed predecessor left ends as soon as the lease runs out.
    /// Many nodes check every quarter lease: a lost job ends at most a quarter lease after its lease, and the queries
    /// stay few with many nodes.
    /// </summary>
    public TimeSpan Every => options.Value.SingleNode && options.Value.Store is not { Length: > 0 }
        ? TimeSpan.FromSeconds(1)
        : TimeSpan.FromSeconds(Math.Max(1, options.Value.LeaseSeconds / 4));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lease = TimeSpan.FromSeconds(options.Value.LeaseSeconds);
        // While the store was down or stalled nobody could renew a lease, so leases that ran out then say nothing of
        // their workers: rescue again only once the store has answered for a whole lease, the time a live worker needs
        // to renew. (Without this, a failover longer than a lease ended every running job as "worker lost".)
        var holdUntil = long.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Every, time, stoppingToken);
                var started = time.GetTimestamp();
                if (started < holdUntil)
                {
                    // Still down, or slow: the lease the workers get to renew starts again.
                    if (!await store.PingAsync(stoppingToken) || time.GetElapsedTime(started) > Every)
                    {
                        holdUntil = time.GetTimestamp() + Ticks(lease);
                    }
                    continue;
                }
                var rescued = await store.RescueExpiredAsync(time.GetUtcNow(), stoppingToken);
                if (time.GetElapsedTime(started) > Every)
                {
                    // The store answered, but late (paused, overloaded): renewals were held up as long.
                    holdUntil = time.GetTimestamp() + Ticks(lease);
                }
                if (rescued.Count > 0)
                {
                    ServerLog.JobsRescued(logger, string.Join(", ", rescued));
                    // Only this node got these ids (the store skips rows another rescuer holds): one callback per job.
                    await webhooks.EnqueueIfRescuedToEndAsync(rescued, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The store is down (a PostgreSQL restart): try again a lease after it is back.
                ServerLog.RescueFault(logger, e);
                holdUntil = time.GetTimestamp() + Ticks(lease);
            }
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);
}
