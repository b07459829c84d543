using Runbox.Storage;
using Runbox.Storage.Postgres;

namespace Runbox.Server.Configuration;

/// <summary>
/// With the PostgreSQL store, reads the database's clock again every minute: between reads the node's monotonic clock
/// carries it, which drifts little, but the database may move to a host whose clock differs (a failover).
/// </summary>
internal sealed class DatabaseClockSync(IJobStore store, TimeProvider time, ILogger<DatabaseClockSync> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromMinutes(1);

    /// <summary>Off by more than this, the node's own clock is worth an operator's look (other programs on it read it).</summary>
    private static readonly TimeSpan Noticeable = TimeSpan.FromSeconds(1);

    /// <summary>Syncs <paramref name="time"/> when it is a <see cref="DatabaseClock"/> over a PostgreSQL store; else nothing.</summary>
    public static async Task SyncAsync(IJobStore store, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        if (time is not DatabaseClock clock || store is not PostgresJobStore postgres)
        {
            return;
        }
        var before = clock.Offset;
        await clock.SyncAsync(postgres, cancellationToken);
        if (clock.Offset.Duration() >= Noticeable && (clock.Offset - before).Duration() >= Noticeable)
        {
            ServerLog.ClockOffset(logger, clock.Offset.TotalSeconds);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (time is not DatabaseClock)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Every, time, stoppingToken);
                await SyncAsync(store, time, logger, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception)
            {
                // The store is down: the clock goes on from the last read, and the next round tries again.
            }
        }
    }
}
