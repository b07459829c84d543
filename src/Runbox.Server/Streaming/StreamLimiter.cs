using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Runbox.Server.Configuration;
using Runbox.Server.Http;

namespace Runbox.Server.Streaming;

/// <summary>Caps the live streams one key holds open, so a flood of subscribers from one client cannot starve the rest.</summary>
public sealed class StreamLimiter(IOptions<RunboxOptions> options)
{
    /// <summary>
    /// How long a refused client is asked to wait: a stream is freed only when another of the key's closes (its job ends,
    /// its client leaves), not as a rate-limit bucket refills every second.
    /// </summary>
    public const int RetryAfterSeconds = 5;

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

    /// <summary>The 429 for a key at its maximum, with Retry-After as the server's other "not now" answers have, so clients wait it out.</summary>
    public ProblemHttpResult Refuse(HttpResponse response)
    {
        response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return Problems.TooManyStreams(PerKey);
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
