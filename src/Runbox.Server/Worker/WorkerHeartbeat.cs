using Microsoft.Extensions.Options;
using Runbox.Server.Configuration;
using Runbox.Storage;
using Runbox.Storage.Workers;

namespace Runbox.Server.Worker;

/// <summary>
/// Keeps this node's entry in the workers registry: name, slots, busy slots, runtimes ready, refreshed every third of
/// a lease, removed on a graceful stop. A node that dies stops refreshing and reads as stale.
/// </summary>
internal sealed class WorkerHeartbeat(
    IJobStore store,
    JobWorker worker,
    WorkerRuntimes runtimes,
    IOptions<RunboxOptions> options,
    TimeProvider time,
    ILogger<WorkerHeartbeat> logger) : BackgroundService
{
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    public TimeSpan Every => TimeSpan.FromSeconds(options.Value.LeaseSeconds / 3);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.NoWorker)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await store.HeartbeatWorkerAsync(new WorkerRecord
                {
                    Name = worker.Node,
                    Slots = worker.Slots,
                    Busy = worker.Slots - worker.FreeSlots,
                    Runtimes = runtimes.Ready,
                    StartedAt = _startedAt,
                    Instance = worker.Instance,
                }, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                ServerLog.HeartbeatFault(logger, e);
            }
            try
            {
                await Task.WhenAny(Task.Delay(Every, time, stoppingToken), runtimes.Changed);
                stoppingToken.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Not started (a failed start stops every service): there is no entry to remove, and the store may be why.
        if (options.Value.NoWorker || ExecuteTask is null)
        {
            return;
        }
        try
        {
            await store.RemoveWorkerAsync(worker.Node, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Left behind, the entry turns stale; nothing depends on it being gone.
            ServerLog.HeartbeatFault(logger, e);
        }
    }
}
