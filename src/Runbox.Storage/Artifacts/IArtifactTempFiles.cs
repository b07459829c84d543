namespace Runbox.Storage.Artifacts;

/// <summary>
/// An optional capability of a store that writes artifacts through temporary files of its own (SQLite's
/// <c>&lt;data&gt;/tmp</c>): removing those an interrupted save left. Ask a store for it with
/// <see cref="StoreFeatures.ArtifactTempFiles"/>.
/// </summary>
public interface IArtifactTempFiles
{
    /// <summary>
    /// Deletes the temporary files a save that never finished left (the process killed midway): only files named as the
    /// store names them, and none a live process holds open to write. Call at start, before any save of this process.
    /// Returns how many files and bytes went.
    /// </summary>
    (int Files, long Bytes) RemoveLeftoverTempFiles();
}
