namespace Runbox.Server.Worker;

/// <summary>
/// A worker's writes of what a job did (its log lines, its result) are worth waiting for: when the store is unreachable
/// (a PostgreSQL restart or failover) they are retried for up to a lease, the delay doubling from 200 ms to 2 s. After a
/// lease the job's claim has expired and the rescuer decides, so waiting longer would not help.
/// </summary>
internal static class StoreRetry
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LongestDelay = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Runs <paramref name="call"/> until it succeeds, telling <paramref name="retrying"/> of each failure it retries
    /// (with the attempt's number, from 1). The failure after <paramref name="patience"/> is thrown, as is an
    /// <see cref="ArgumentException"/> at once: the store refused the call itself, and it would refuse it again.
    /// </summary>
    public static async Task<T> ForAsync<T>(Func<Task<T>> call, TimeSpan patience, TimeProvider time, Action<Exception, int> retrying)
    {
        var giveUpAt = time.GetUtcNow() + patience;
        var delay = FirstDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (e is not ArgumentException && time.GetUtcNow() < giveUpAt)
            {
                retrying(e, attempt);
                await Task.Delay(delay, time);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LongestDelay.Ticks));
            }
        }
    }

    /// <inheritdoc cref="ForAsync{T}"/>
    public static Task ForAsync(Func<Task> call, TimeSpan patience, TimeProvider time, Action<Exception, int> retrying) =>
        ForAsync(async () =>
        {
            await call();
            return true;
        }, patience, time, retrying);
}
