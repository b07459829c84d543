using Microsoft.Extensions.Options;
using Runbox.Server.Configuration;
using Runbox.Storage;

namespace Runbox.Server.Worker;

/// <summary>
/// On every node, API or worker: ends or re-queues jobs whose lease ran out (their worker died). Any node may do it,
/// and several at once is harmless (the store skips rows another rescuer holds), so a cluster needs no leader.
/// </summary>
internal sealed class LeaseRescuer(IJobStore store, IOptions<RunboxOptions> options, TimeProvider time, ILogger<LeaseRescuer> logger)
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
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Every, time, stoppingToken);
                var rescued = await store.RescueExpiredAsync(time.GetUtcNow(), stoppingToken);
                if (rescued.Count > 0)
                {
                    ServerLog.JobsRescued(logger, string.Join(", ", rescued));
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The store is down (a PostgreSQL restart): try again next round.
                ServerLog.RescueFault(logger, e);
            }
        }
    }
}
