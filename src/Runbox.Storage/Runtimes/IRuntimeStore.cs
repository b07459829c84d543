namespace Runbox.Storage.Runtimes;

/// <summary>
/// An optional capability of a store: keeping runtime records, so every node (and the next start) knows which
/// runtimes exist and in what state. Ask a store for it with <see cref="StoreFeatures.Runtimes"/>.
/// </summary>
public interface IRuntimeStore
{
    /// <summary>Adds a runtime; false (and nothing changed) when one of that name exists.</summary>
    Task<bool> TryInsertRuntimeAsync(RuntimeRecord runtime, CancellationToken cancellationToken = default);

    /// <summary>Replaces the runtime's record; false when there is none of that name.</summary>
    Task<bool> UpdateRuntimeAsync(RuntimeRecord runtime, CancellationToken cancellationToken = default);

    Task<RuntimeRecord?> GetRuntimeAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every runtime, by name.</summary>
    Task<IReadOnlyList<RuntimeRecord>> ListRuntimesAsync(CancellationToken cancellationToken = default);

    /// <summary>False when there was no such runtime.</summary>
    Task<bool> DeleteRuntimeAsync(string name, CancellationToken cancellationToken = default);
}
