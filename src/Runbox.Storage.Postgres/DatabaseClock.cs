namespace Runbox.Storage.Postgres;

/// <summary>
/// The time of the PostgreSQL server, for every node sharing it: read once (<see cref="SyncAsync"/>), then carried on
/// by this machine's monotonic clock. Leases, rescue and heartbeats compare times that different nodes wrote; with each
/// node's own wall clock, a node a lease ahead ended every other node's running jobs as "worker lost" at once, and one a
/// lease behind had its own jobs ended by the others and showed as stale. Before the first sync it is the local clock.
/// </summary>
public sealed class DatabaseClock(TimeProvider local) : TimeProvider
{
    private sealed record Anchor(DateTimeOffset Database, long Timestamp);

    private volatile Anchor? anchor;

    /// <summary>The database's clock minus this machine's at the last sync (zero before it).</summary>
    public TimeSpan Offset { get; private set; }

    public override DateTimeOffset GetUtcNow() =>
        anchor is { } at ? at.Database + local.GetElapsedTime(at.Timestamp) : local.GetUtcNow();

    public override long GetTimestamp() => local.GetTimestamp();

    public override long TimestampFrequency => local.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => local.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        local.CreateTimer(callback, state, dueTime, period);

    /// <summary>Reads the database's clock; it was read somewhere within the round trip, so the middle is taken.</summary>
    public async Task SyncAsync(PostgresJobStore store, CancellationToken cancellationToken = default)
    {
        var before = local.GetTimestamp();
        var database = await store.ReadClockAsync(cancellationToken).ConfigureAwait(false);
        var after = local.GetTimestamp();
        var read = database + local.GetElapsedTime(before, after) / 2;
        Offset = read - local.GetUtcNow();
        anchor = new Anchor(read, after);
    }
}
