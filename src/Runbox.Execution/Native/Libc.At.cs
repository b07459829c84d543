using System.Runtime.InteropServices;

namespace Runbox.Execution.Native;

/// <summary>
/// One name within an open folder, a link itself rather than what it points to (AT_SYMLINK_NOFOLLOW): what a walk of a
/// folder the job wrote does to each entry, by the folder's descriptor, where a path could be redirected by a folder
/// the job swapped for a link meanwhile.
/// </summary>
internal static unsafe partial class Libc
{
    private const int AtSymlinkNoFollow = 0x100;
    public const byte DT_UNKNOWN = 0;
    public const byte DT_DIR = 4;

    [LibraryImport("libc", EntryPoint = "fstatat", SetLastError = true)]
    private static partial int FstatAtNative(int dirFd, byte* path, byte* buffer, int flags);

    [LibraryImport("libc", EntryPoint = "fchownat", SetLastError = true)]
    private static partial int FchownAtNative(int dirFd, byte* path, uint owner, uint group, int flags);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int FchownNative(int fd, uint owner, uint group);

    /// <summary>What a walk needs of an entry: its kind, and a regular file's size and last write (UTC).</summary>
    public readonly record struct EntryStat(bool IsDirectory, bool IsRegularFile, long Size, DateTime ModifiedUtc);

    /// <summary>fstatat(2) of <paramref name="name"/> in the open folder <paramref name="dirFd"/>, not followed if a link; null (errno set) when gone.</summary>
    public static EntryStat? StatAt(int dirFd, ReadOnlySpan<byte> name)
    {
        // struct stat: st_mode as IsRegularFile reads it; st_size at 48 and st_mtim (seconds, nanoseconds) at 88 on
        // both x86_64 and arm64.
        var buffer = stackalloc byte[256];
        fixed (byte* path = NulTerminated(name))
        {
            if (FstatAtNative(dirFd, path, buffer, AtSymlinkNoFollow) != 0)
            {
                return null;
            }
        }
        var mode = *(uint*)(buffer + (Arm64 ? 16 : 24)) & 0xF000;
        var seconds = *(long*)(buffer + 88);
        var nanoseconds = *(long*)(buffer + 96);
        // Whole ticks, as FileInfo.LastWriteTimeUtc and File.GetLastWriteTimeUtc make it: a snapshot's time of an input
        // compares equal to what JobFiles.Collect reads of it later.
        var modified = DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(nanoseconds / TimeSpan.NanosecondsPerTick).UtcDateTime;
        return new EntryStat(mode == 0x4000, mode == 0x8000, *(long*)(buffer + 48), modified);
    }

    /// <summary>File type bits (st_mode &amp; S_IFMT) <see cref="TypeOf"/> answers.</summary>
    public const uint S_IFSOCK = 0xC000;

    /// <summary>
    /// lstat(2)'s file type (st_mode &amp; S_IFMT) of <paramref name="path"/>, a link itself rather than what it points to;
    /// null (errno set) when it cannot be read, as when nothing is there.
    /// </summary>
    public static uint? TypeOf(string path)
    {
        const int AtFdCwd = -100;
        var buffer = stackalloc byte[256];
        fixed (byte* name = NulTerminated(System.Text.Encoding.UTF8.GetBytes(path)))
        {
            if (FstatAtNative(AtFdCwd, name, buffer, AtSymlinkNoFollow) != 0)
            {
                return null;
            }
        }
        return *(uint*)(buffer + (Arm64 ? 16 : 24)) & 0xF000;
    }

    /// <summary>fchownat(2) of <paramref name="name"/> in the open folder <paramref name="dirFd"/>: a link is changed itself, never its target.</summary>
    public static int FchownAt(int dirFd, ReadOnlySpan<byte> name, uint owner, uint group)
    {
        fixed (byte* path = NulTerminated(name))
        {
            return FchownAtNative(dirFd, path, owner, group, AtSymlinkNoFollow);
        }
    }

    public static int Fchown(int fd, uint owner, uint group) => FchownNative(fd, owner, group);
}
