using System.Data.Common;

namespace Runbox.Storage;

/// <summary>
/// The store's schema is newer than this build knows (a newer Runbox migrated it): a store this build cannot use, like
/// one it cannot reach, so it is a <see cref="DbException"/>, and a node that meets it says so and does not start.
/// </summary>
public sealed class StoreVersionException(string message) : DbException(message);
