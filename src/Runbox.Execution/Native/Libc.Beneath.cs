using System.Runtime.InteropServices;

namespace Runbox.Execution.Native;

/// <summary>
/// Opens beneath a folder the job wrote: no symlink is followed in any component of the path, so a folder the job
/// swapped for a link after it was listed leads nowhere (openat2's RESOLVE_NO_SYMLINKS, Linux 5.6+). O_NOFOLLOW alone
/// guards only the last component.
/// </summary>
internal static unsafe partial class Libc
{
    private const nint SysOpenAt2 = 437; // the same on x86_64 and arm64
    private const int ENOSYS = 38;
    private const ulong ResolveNoMagicLinks = 0x02, ResolveNoSymlinks = 0x04, ResolveBeneath = 0x08;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial int SyscallOpenAt2(nint number, nint dirFd, byte* path, OpenHow* how, nint size);

    private static volatile bool _noOpenAt2;

    /// <summary>A folder at <paramref name="path"/> beneath <paramref name="dirFd"/>, reached through no link; -1 (errno set) otherwise.</summary>
    public static int OpenDirectoryBeneath(int dirFd, ReadOnlySpan<byte> path) => OpenBeneath(dirFd, path, ODirectory | ONoFollow | O_CLOEXEC_FLAG);

    /// <summary>
    /// A file at <paramref name="path"/> beneath <paramref name="dirFd"/> opened for reading, reached through no link and
    /// without blocking on a FIFO; -1 (errno set) otherwise. The caller checks that it is a regular file.
    /// </summary>
    public static int OpenFileBeneath(int dirFd, ReadOnlySpan<byte> path)
    {
        const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_NOCTTY = 0x100;
        return OpenBeneath(dirFd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | ONoFollow | O_CLOEXEC_FLAG);
    }

    private static int OpenBeneath(int dirFd, ReadOnlySpan<byte> path, int flags)
    {
        fixed (byte* name = NulTerminated(path))
        {
            if (!_noOpenAt2)
            {
                var how = new OpenHow { Flags = (ulong)flags, Resolve = ResolveBeneath | ResolveNoSymlinks | ResolveNoMagicLinks };
                var fd = SyscallOpenAt2(SysOpenAt2, dirFd, name, &how, sizeof(OpenHow));
                if (fd >= 0 || Marshal.GetLastPInvokeError() != ENOSYS)
                {
                    return fd;
                }
                _noOpenAt2 = true;
            }
            // Kernels before 5.6: only the last component is guarded; the init's freeze of the job's processes is then
            // what keeps a folder from being swapped while it is read.
            return OpenAtNative(dirFd, name, flags, 0);
        }
    }
}
