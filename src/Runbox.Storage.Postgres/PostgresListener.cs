using Npgsql;
using Runbox.Storage.Notifications;

namespace Runbox.Storage.Postgres;

/// <summary>
/// One dedicated connection that LISTENs and turns notifications into <see cref="ChangeSignals"/> pulses. When the
/// connection drops it reconnects with backoff; while it is down, waits fall back to polling (see
/// <see cref="IsListening"/>), and once back every waiter is woken, since what was sent meanwhile is lost.
/// </summary>
internal sealed class PostgresListener(NpgsqlDataSource dataSource, ChangeSignals signals) : IAsyncDisposable
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource stop = new();
    private Task? loop;
    private volatile bool listening;
    private int connections;

    public bool IsListening => listening;

    /// <summary>How many times a LISTEN connection was opened (reconnects show as more than one).</summary>
    public int Connections => Volatile.Read(ref connections);

    public void EnsureStarted()
    {
        if (loop is null)
        {
            lock (stop)
            {
                loop ??= Task.Run(() => ListenAsync(stop.Token));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }
        stop.Dispose();
    }

    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        var retry = FirstRetry;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                connection.Notification += OnNotification;
                await using (var listen = new NpgsqlCommand($"LISTEN {NotifyChannels.Work}; LISTEN {NotifyChannels.Job}", connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                Interlocked.Increment(ref connections);
                listening = true;
                retry = FirstRetry;
                signals.PulseAll();
                while (true)
                {
                    await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // Server restart, failover, a terminated backend: waiters poll until the connection is back.
            }
            finally
            {
                listening = false;
            }
            try
            {
                await Task.Delay(retry, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LastRetry.Ticks));
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs notification)
    {
        if (notification.Channel == NotifyChannels.Work)
        {
            signals.PulseWork();
        }
        else if (notification.Channel == NotifyChannels.Job)
        {
            signals.PulseJob(notification.Payload);
        }
    }
}
