using Microsoft.Extensions.Options;
using Runbox.Server.Configuration;
using Runbox.Storage;

namespace Runbox.Server.Jobs;

/// <summary>
/// Deletes ended jobs, with their logs and artifacts, once <see cref="RunboxOptions.RetentionDays"/> have passed since
/// they ended, so a long-running server does not grow for good. Off (0) by default. Any node may sweep, several at
/// once included: the store hands each job to one of them.
/// </summary>
internal sealed class JobRetention(IJobStore store, IOptions<RunboxOptions> options, TimeProvider time, ILogger<JobRetention> logger)
    : BackgroundService
{
    /// <summary>Jobs deleted per store call: short write transactions, so jobs being written never wait long.</summary>
    public const int Batch = 500;

    private TimeSpan Keep => TimeSpan.FromDays(options.Value.RetentionDays);

    /// <summary>A tenth of the retention, between a second and an hour: a job outlives it by at most that much.</summary>
    public TimeSpan Every => TimeSpan.FromTicks(Math.Clamp(Keep.Ticks / 10, TimeSpan.TicksPerSecond, TimeSpan.TicksPerHour));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.RetentionDays <= 0)
        {
            return;
        }
        // The first sweep at start: a server that was down for a while catches up at once.
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);
                await Task.Delay(Every, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The store is down (a PostgreSQL restart): try again next round.
                ServerLog.RetentionFault(logger, e);
                await Task.Delay(Every, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var before = time.GetUtcNow() - Keep;
        var total = 0;
        IReadOnlyList<string> deleted;
        do
        {
            deleted = await store.DeleteEndedJobsAsync(before, Batch, cancellationToken);
            total += deleted.Count;
        }
        while (deleted.Count == Batch);
        if (total > 0)
        {
            ServerLog.JobsExpired(logger, total, options.Value.RetentionDays);
        }
    }
}
