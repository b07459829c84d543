using System.Net;

namespace Runbox.Cli.Client;

/// <summary>
/// A server's "not now": 429 (its rate limit, or its cap on live streams), or 503 with a Retry-After. Either way it did
/// not act on the request, so a call that is safe to repeat waits as long as the server asks and tries again.
/// </summary>
internal static class BusyAnswer
{
    /// <summary>Tries in all, the first included: a server still busy after a few waits is said to be so.</summary>
    public const int MaxTries = 4;

    /// <summary>The longest one wait, whatever the server asks: longer looks like a hang at a terminal.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    /// <summary>A 429 that says not how long: the Runbox server's own buckets refill every second.</summary>
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(1);

    /// <summary>How long to wait before trying again, or null when the answer is no "not now".</summary>
    public static TimeSpan? WaitFor(HttpResponseMessage response, DateTimeOffset now)
    {
        var retryAfter = response.Headers.RetryAfter;
        if (response.StatusCode != HttpStatusCode.TooManyRequests && !(response.StatusCode == HttpStatusCode.ServiceUnavailable && retryAfter is not null))
        {
            return null;
        }
        // Seconds, or an HTTP date (a date in the past, or a clock behind the server's, means at once).
        var wait = retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - now : DefaultWait);
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait > MaxWait ? MaxWait : wait;
    }

    /// <summary>Said on stderr before each wait, as "1 s" or "2.5 s".</summary>
    public static string Seconds(TimeSpan wait) => $"{Math.Round(wait.TotalSeconds, 1).ToString(System.Globalization.CultureInfo.InvariantCulture)} s";
}
