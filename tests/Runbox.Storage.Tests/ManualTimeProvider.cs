namespace Runbox.Storage.Tests;

/// <summary>A clock the test moves by hand, so lease expiry is tested without sleeping.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long utcTicks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref utcTicks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref utcTicks, by.Ticks);
}
