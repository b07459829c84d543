using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Runbox.Server.Configuration;

namespace Runbox.Server.Streaming;

/// <summary>Caps the live streams one key holds open, so a flood of subscribers from one client cannot starve the rest.</summary>
public sealed class StreamLimiter(IOptions<RunboxOptions> options)
{
    private readonly ConcurrentDictionary<string, int> _open = new();

    public int PerKey => options.Value.RateLimit.StreamsPerKey;

    /// <summary>A lease to dispose when the stream closes, or null when the key already holds its maximum.</summary>
    public IDisposable? TryAcquire(string keyId)
    {
        while (true)
        {
            var current = _open.GetOrAdd(keyId, 0);
            if (current >= PerKey)
            {
                return null;
            }
            if (_open.TryUpdate(keyId, current + 1, current))
            {
                return new Lease(this, keyId);
            }
        }
    }

    private void Release(string keyId) => _open.AddOrUpdate(keyId, 0, (_, count) => Math.Max(0, count - 1));

    private sealed class Lease(StreamLimiter owner, string keyId) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Release(keyId);
            }
        }
    }
}
