using System.Runtime.InteropServices;

namespace Runbox.Execution.Native;

/// <summary>The few libc calls .NET has no managed API for: descriptor passing, signals, no-follow opens.</summary>
internal static unsafe partial class Libc
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int EINTR = 4;
    public const int ESRCH = 3;
    private const int SOL_SOCKET = 1;
    private const int SCM_RIGHTS = 1;
    private const int MSG_CMSG_CLOEXEC = 0x40000000;
    private const int MSG_NOSIGNAL = 0x4000;

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CmsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint RecvMsgNative(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMsgNative(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameNative(string from, string to);

    // open_tree(2) has no libc wrapper in older glibc: through syscall(2), whose extra arguments are plain words.
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SyscallWithPath(nint number, nint dirFd, string path, nint flags);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillNative(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Lchown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "getegid")]
    public static partial uint GetEffectiveGroupId();

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chmod(string path, int mode);

    public const ulong MS_NOSUID = 2;
    public const ulong MS_NODEV = 4;
    public const ulong MS_REMOUNT = 32;
    public const int MNT_DETACH = 2;

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MountNative(string source, string target, string? fileSystem, ulong flags, string? data);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Umount2Native(string target, int flags);

    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatVfsNative(string path, byte* buffer);

    /// <summary>mount(2); null when it worked, else the errno's message.</summary>
    public static string? Mount(string source, string target, string? fileSystem, ulong flags, string? data) =>
        MountNative(source, target, fileSystem, flags, data) == 0 ? null : Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());

    /// <summary>umount2(2); null when it worked, else the errno's message.</summary>
    public static string? Unmount(string target, int flags) =>
        Umount2Native(target, flags) == 0 ? null : Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());

    /// <summary>Bytes and inodes an unprivileged writer may still use on the file system holding a path; null on error.</summary>
    public static (long FreeBytes, long FreeInodes)? FreeSpace(string path)
    {
        // glibc's struct statvfs on 64-bit Linux: bsize, frsize, blocks, bfree, bavail, files, ffree, favail, ... (8 bytes each)
        var buffer = stackalloc ulong[16];
        if (StatVfsNative(path, (byte*)buffer) != 0)
        {
            return null;
        }
        return ((long)(buffer[4] * buffer[1]), (long)buffer[7]);
    }

    /// <summary>
    /// Receives one datagram and the descriptors sent with it (marked close-on-exec, so no later child inherits
    /// them). Returns the byte count, 0 at end of stream.
    /// </summary>
    public static int ReceiveWithDescriptors(int socketFd, byte[] buffer, List<int> descriptors)
    {
        const int maxFds = 12;
        var control = stackalloc byte[sizeof(CmsgHdr) + (maxFds * sizeof(int)) + 8];
        var controlLength = sizeof(CmsgHdr) + (maxFds * sizeof(int));
        fixed (byte* data = buffer)
        {
            var iov = new IoVec { Base = data, Length = (nuint)buffer.Length };
            var header = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = (nuint)controlLength };
            nint received;
            do
            {
                received = RecvMsgNative(socketFd, &header, MSG_CMSG_CLOEXEC);
            }
            while (received < 0 && Marshal.GetLastPInvokeError() == EINTR);
            if (received < 0)
            {
                throw new IOException($"recvmsg failed: errno {Marshal.GetLastPInvokeError()}");
            }
            // One SCM_RIGHTS control message at most is ever sent by the zygote.
            if (header.ControlLength >= (nuint)sizeof(CmsgHdr))
            {
                var cmsg = (CmsgHdr*)control;
                if (cmsg->Level == SOL_SOCKET && cmsg->Type == SCM_RIGHTS)
                {
                    var count = ((int)cmsg->Length - sizeof(CmsgHdr)) / sizeof(int);
                    var fds = (int*)(control + sizeof(CmsgHdr));
                    for (var i = 0; i < count; i++)
                    {
                        descriptors.Add(fds[i]);
                    }
                }
            }
            return (int)received;
        }
    }

    /// <summary>Sends one datagram with <paramref name="descriptors"/> attached (SCM_RIGHTS). Throws on failure.</summary>
    public static void SendWithDescriptors(int socketFd, ReadOnlySpan<byte> data, ReadOnlySpan<int> descriptors)
    {
        var controlLength = sizeof(CmsgHdr) + (descriptors.Length * sizeof(int));
        var control = stackalloc byte[controlLength + 8];
        var cmsg = (CmsgHdr*)control;
        cmsg->Length = (nuint)controlLength;
        cmsg->Level = SOL_SOCKET;
        cmsg->Type = SCM_RIGHTS;
        descriptors.CopyTo(new Span<int>(control + sizeof(CmsgHdr), descriptors.Length));
        fixed (byte* bytes = data)
        {
            var iov = new IoVec { Base = bytes, Length = (nuint)data.Length };
            var header = new MsgHdr { Iov = &iov, IovLength = 1 };
            if (descriptors.Length > 0)
            {
                header.Control = control;
                header.ControlLength = (nuint)controlLength;
            }
            nint sent;
            do
            {
                sent = SendMsgNative(socketFd, &header, MSG_NOSIGNAL);
            }
            while (sent < 0 && Marshal.GetLastPInvokeError() == EINTR);
            if (sent < 0)
            {
                throw new IOException($"sendmsg failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
    }

    /// <summary>
    /// A detached copy of the mount at <paramref name="path"/> (open_tree with OPEN_TREE_CLONE, Linux 5.2+), as a
    /// close-on-exec descriptor that can be attached in another mount namespace.
    /// </summary>
    public static int OpenTree(string path)
    {
        const int SYS_open_tree = 428; // the same number on every architecture
        const int AT_FDCWD = -100;
        const int OPEN_TREE_CLONE = 1;
        const int O_CLOEXEC = 0x80000;
        var fd = SyscallWithPath(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | O_CLOEXEC);
        return fd >= 0 ? fd : throw new IOException($"open_tree {path}: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>rename(2); null on success, else the errno.</summary>
    public static int? Rename(string from, string to) => RenameNative(from, to) == 0 ? null : Marshal.GetLastPInvokeError();

    /// <summary>Sends a signal; false when the process no longer exists.</summary>
    public static bool Kill(int pid, int signal) => KillNative(pid, signal) == 0;

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MemfdCreateNative(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteNative(int fd, byte* buffer, nuint count);

    /// <summary>
    /// A close-on-exec memfd (an anonymous file in memory) holding <paramref name="data"/>, for handing bytes to another
    /// process as a descriptor. Its size is the data's; the reader reads it from offset 0. Throws on failure.
    /// </summary>
    public static int MemoryFile(string name, ReadOnlySpan<byte> data)
    {
        const uint MFD_CLOEXEC = 1;
        var fd = MemfdCreateNative(name, MFD_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"memfd_create: errno {Marshal.GetLastPInvokeError()}");
        }
        fixed (byte* bytes = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var written = WriteNative(fd, bytes + done, (nuint)(data.Length - done));
                if (written < 0 && Marshal.GetLastPInvokeError() == EINTR)
                {
                    continue;
                }
                if (written <= 0)
                {
                    var error = Marshal.GetLastPInvokeError();
                    Close(fd);
                    throw new IOException($"write to a memfd: errno {error}");
                }
                done += (int)written;
            }
        }
        return fd;
    }

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static partial int OpenAtNative(int dirFd, byte* path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
    private static partial int UnlinkAtNative(int dirFd, byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true)]
    private static partial int RenameAt2Native(int fromDirFd, byte* from, int toDirFd, byte* to, uint flags);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int FchmodNative(int fd, int mode);

    [LibraryImport("libc", EntryPoint = "fdopendir", SetLastError = true)]
    private static partial nint FdOpenDirNative(int fd);

    [LibraryImport("libc", EntryPoint = "readdir", SetLastError = true)]
    private static partial nint ReadDirNative(nint dir);

    [LibraryImport("libc", EntryPoint = "closedir")]
    private static partial int CloseDirNative(nint dir);

    public const int EISDIR = 21;
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ENOTDIR = 20;
    public const int EEXIST = 17;
    public const int AT_REMOVEDIR = 0x200;

    // O_DIRECTORY and O_NOFOLLOW differ between x86_64 and arm64 (asm-generic's values there).
    private static readonly bool Arm64 = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;
    private static readonly int ODirectory = Arm64 ? 0x4000 : 0x10000;
    private static readonly int ONoFollow = Arm64 ? 0x8000 : 0x20000;
    private const int O_CLOEXEC_FLAG = 0x80000;

    /// <summary>Opens a directory, never through a symlink; -1 (errno set) if it is none. Names are raw bytes.</summary>
    public static int OpenDirectoryAt(int dirFd, ReadOnlySpan<byte> name)
    {
        fixed (byte* path = NulTerminated(name))
        {
            return OpenAtNative(dirFd, path, ODirectory | ONoFollow | O_CLOEXEC_FLAG, 0);
        }
    }

    /// <summary>
    /// Opens a host file by path for reading, without waiting on a FIFO (O_NONBLOCK: a FIFO nobody writes to holds a
    /// plain open forever); -1 (errno set) when it cannot be opened. The caller checks <see cref="IsRegularFile"/>.
    /// </summary>
    public static int OpenForReading(string path)
    {
        const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_NOCTTY = 0x100;
        return OpenNative(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC_FLAG, 0);
    }

    /// <summary>Opens a directory by path, never through a symlink at its last component; -1 if it is none.</summary>
    public static int OpenDirectory(string path) => OpenNative(path, ODirectory | ONoFollow | O_CLOEXEC_FLAG, 0);

    /// <summary>unlinkat(2); 0, or the errno.</summary>
    public static int UnlinkAt(int dirFd, ReadOnlySpan<byte> name, int flags)
    {
        fixed (byte* path = NulTerminated(name))
        {
            return UnlinkAtNative(dirFd, path, flags) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>renameat2(2) with RENAME_NOREPLACE; 0, or the errno.</summary>
    public static int RenameAtNoReplace(int fromDirFd, ReadOnlySpan<byte> from, int toDirFd, ReadOnlySpan<byte> to)
    {
        fixed (byte* source = NulTerminated(from))
        fixed (byte* target = NulTerminated(to))
        {
            return RenameAt2Native(fromDirFd, source, toDirFd, target, 1) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    public static int Fchmod(int fd, int mode) => FchmodNative(fd, mode);

    /// <summary>The names in an open directory (not "." and ".."), as the raw bytes the kernel has; null on failure.</summary>
    public static List<byte[]>? DirectoryNames(int dirFd) => DirectoryEntries(dirFd)?.ConvertAll(entry => entry.Name);

    /// <summary>
    /// As <see cref="DirectoryNames"/>, with each entry's d_type (<see cref="DT_DIR"/>, ...; <see cref="DT_UNKNOWN"/> on
    /// a file system that does not say), so a walk tells folders apart without a call per entry.
    /// </summary>
    public static List<(byte[] Name, byte Type)>? DirectoryEntries(int dirFd)
    {
        // A descriptor of its own (its own offset), which closedir closes; the caller's stays open.
        int own;
        fixed (byte* dot = ".\0"u8)
        {
            own = OpenAtNative(dirFd, dot, ODirectory | O_CLOEXEC_FLAG, 0);
        }
        if (own < 0)
        {
            return null;
        }
        var dir = FdOpenDirNative(own);
        if (dir == 0)
        {
            Close(own);
            return null;
        }
        var names = new List<(byte[], byte)>();
        try
        {
            nint entry;
            while ((entry = ReadDirNative(dir)) != 0)
            {
                // struct dirent (glibc, 64-bit): d_ino 8, d_off 8, d_reclen 2, d_type 1, then d_name.
                var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)entry + 19);
                if (!name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8))
                {
                    names.Add((name.ToArray(), *((byte*)entry + 18)));
                }
            }
        }
        finally
        {
            CloseDirNative(dir);
        }
        return names;
    }

    private static byte[] NulTerminated(ReadOnlySpan<byte> name)
    {
        var bytes = new byte[name.Length + 1];
        name.CopyTo(bytes);
        return bytes;
    }

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FstatNative(int fd, byte* buffer);

    /// <summary>Whether an open descriptor is a regular file (not a FIFO, device, socket or directory).</summary>
    public static bool IsRegularFile(int fd)
    {
        // struct stat: st_mode after st_dev, st_ino and st_nlink (8 bytes each) on x86_64; after st_dev and st_ino on arm64.
        const int statSize = 256;
        var modeOffset = Arm64 ? 16 : 24;
        var buffer = stackalloc byte[statSize];
        return FstatNative(fd, buffer) == 0 && (*(uint*)(buffer + modeOffset) & 0xF000) == 0x8000;
    }

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int FlockNative(int fd, int operation);

    /// <summary>
    /// Opens <paramref name="path"/> (creating it, mode 0600, when <paramref name="create"/>) and takes an exclusive
    /// flock(2) on it without waiting. The lock lasts while the handle is open: the kernel drops it when the process
    /// dies, however it dies, and it holds across PID namespaces. Null when another open file holds it; throws
    /// <see cref="FileNotFoundException"/> when the file is not there, <see cref="IOException"/> for other errors.
    /// </summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle? TryLockFile(string path, bool create)
    {
        const int O_RDWR = 2, O_CREAT = 0x40, LOCK_EX = 2, LOCK_NB = 4, EWOULDBLOCK = 11;
        var fd = OpenNative(path, O_RDWR | O_CLOEXEC_FLAG | ONoFollow | (create ? O_CREAT : 0), 0x180);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var message = $"{path}: {Marshal.GetPInvokeErrorMessage(errno)}";
            throw errno == ENOENT ? new FileNotFoundException(message, path) : new IOException(message);
        }
        if (FlockNative(fd, LOCK_EX | LOCK_NB) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Close(fd);
            return errno == EWOULDBLOCK ? null : throw new IOException($"{path}: flock: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        return new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
    }
}
