using Runbox.Storage.Artifacts;
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

    /// <summary>The store's artifact temporary files, or null when it writes none (PostgreSQL keeps artifacts in a table).</summary>
    public static IArtifactTempFiles? ArtifactTempFiles(this IJobStore store) => store as IArtifactTempFiles;
}
