using Runbox.Execution.Native;

namespace Runbox.Execution.Sandbox;

/// <summary>
/// A run of uids, one per slot, held by one engine for its lifetime. Engines on the same host (two workers,
/// parallel tests) must not share job uids: RLIMIT_NPROC and file ownership are per uid. The claim is a flock on
/// a file per block, so the kernel frees it when the engine's process dies, however it dies.
/// </summary>
internal sealed class UidBlock : IDisposable
{
    private readonly FileStream _lock;

    private UidBlock(int first, FileStream lockFile)
    {
        First = first;
        _lock = lockFile;
    }

    public int First { get; }

    /// <summary>The first free block of <paramref name="slots"/> uids in the range, or null when all are taken.</summary>
    public static UidBlock? Acquire(int firstUid, int uidCount, int slots)
    {
        var directory = Directory.Exists("/run") && Libc.GetEffectiveUserId() == 0 ? "/run/runbox" : Path.Combine(Path.GetTempPath(), "runbox-uids");
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        for (var start = firstUid; start + slots <= firstUid + uidCount; start += slots)
        {
            try
            {
                // FileShare.None is an exclusive, non-blocking flock on Unix: taken means another engine holds it.
                var file = new FileStream(Path.Combine(directory, $"uids-{start}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                return new UidBlock(start, file);
            }
            catch (IOException)
            {
            }
        }
        return null;
    }

    public void Dispose() => _lock.Dispose();
}
