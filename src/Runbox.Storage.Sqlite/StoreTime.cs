namespace Runbox.Storage.Sqlite;

/// <summary>Times as INTEGER microseconds since the Unix epoch: sortable, and the same precision as PostgreSQL.</summary>
internal static class StoreTime
{
    public static long ToMicros(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.Ticks) / 10;

    public static DateTimeOffset FromMicros(long micros) => new(DateTimeOffset.UnixEpoch.Ticks + (micros * 10), TimeSpan.Zero);
}
