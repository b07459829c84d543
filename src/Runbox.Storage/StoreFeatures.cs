using Runbox.Storage.Runtimes;

namespace Runbox.Storage;

/// <summary>
/// Capabilities a store may have beyond <see cref="IJobStore"/> (as Hangfire's JobStorage features): callers ask
/// instead of testing which backend they hold.
/// </summary>
public static class StoreFeatures
{
    /// <summary>The store's runtime records, or null when this store does not keep them.</summary>
    public static IRuntimeStore? Runtimes(this IJobStore store) => store as IRuntimeStore;
}
