using Runbox.Execution.Engine;
using Runbox.Execution.Native;

namespace Runbox.Execution.Sandbox;

/// <summary>
/// The disk limit of job folders: one size-limited tmpfs per slot, so a job that fills its folder gets ENOSPC
/// instead of filling the host's disk. A job's folder is <c>disks/&lt;slot&gt;/&lt;job id&gt;</c> inside it.
/// <para>
/// Mounted once per slot when the engine starts, not per job: the zygote's pooled inits copy the mount table when
/// they are forked (ahead of their job) and keep it private, so a tmpfs mounted later would not be in their view and
/// the job would see the empty folder beneath it. A remount changes the size of the one shared tmpfs, which every
/// copy sees, so each job gets its own limit.
/// </para>
/// </summary>
internal sealed class SlotDisks : IDisposable
{
    private const long PageSize = 4096;

    /// <summary>Below this many free bytes a failed job's folder counts as full (a write stops within a page of the end).</summary>
    private const long FullMargin = 64 * 1024;

    private readonly string[] _mounts;
    private readonly long[] _sizes; // each slot's tmpfs size as last set: a job with the same limit needs no remount
    private readonly EventHandler _onExit;
    private int _disposed;

    private SlotDisks(string[] mounts)
    {
        _mounts = mounts;
        _sizes = mounts.Select(_ => PageSize).ToArray();
        // Mounts outlive the process: an engine never disposed (a program that just exits) must not leave them.
        // A killed process leaves them to the next engine's start (UnmountBeneath).
        _onExit = (_, _) => Dispose();
        AppDomain.CurrentDomain.ProcessExit += _onExit;
    }

    /// <summary>One tmpfs per slot below <paramref name="directory"/>, or null (with why) where mounting is not allowed.</summary>
    public static SlotDisks? TryCreate(string directory, int slots, out string? problem)
    {
        problem = null;
        if (Libc.GetEffectiveUserId() != 0)
        {
            problem = "not running as root: job folders have no disk limit (only the file size limit applies)";
            return null;
        }
        var traverse = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        Directory.CreateDirectory(directory, traverse);
        var mounts = new List<string>();
        for (var slot = 0; slot < slots; slot++)
        {
            var path = Path.Combine(directory, slot.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(path, traverse);
            if (Libc.Mount("runbox-disk", path, "tmpfs", Libc.MS_NOSUID | Libc.MS_NODEV, Options(PageSize)) is { } error)
            {
                foreach (var mounted in mounts)
                {
                    Libc.Unmount(mounted, Libc.MNT_DETACH);
                }
                problem = $"cannot mount a tmpfs for job folders ({error}): job folders have no disk limit (only the file size limit applies)";
                return null;
            }
            mounts.Add(path);
        }
        return new SlotDisks([.. mounts]);
    }

    // 0711: the slot's uid reaches its job's folder without listing the slot's root. One inode per 8 KiB of
    // space (at least 1024) caps "a million empty files", whose inodes cost kernel memory but no size.
    private static string Options(long bytes) =>
        $"mode=0711,size={bytes},nr_inodes={Math.Max(1024, bytes / 8192)}";

    /// <summary>Empties the slot's tmpfs, sets its size to the job's limit and makes the job's folder in it.</summary>
    public string Prepare(int slot, string jobId, long limitBytes)
    {
        var root = _mounts[slot];
        Clear(slot);
        var size = Math.Max(PageSize, (limitBytes + PageSize - 1) / PageSize * PageSize);
        if (size != _sizes[slot])
        {
            if (Libc.Mount("runbox-disk", root, null, Libc.MS_REMOUNT | Libc.MS_NOSUID | Libc.MS_NODEV, Options(size)) is { } error)
            {
                _sizes[slot] = 0; // unknown now: set again next time
                throw new InvalidOperationException($"could not set the job folder's disk limit: {error}");
            }
            _sizes[slot] = size;
        }
        var folder = Path.Combine(root, jobId);
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>
    /// Removes whatever is in the slot's tmpfs (the job's folder; a link is removed, never followed), whatever the job
    /// named its files and however deep it nested them (see <see cref="JobFiles.Empty"/>): a folder that could not be
    /// emptied failed every later job of its slot.
    /// </summary>
    public void Clear(int slot) => JobFiles.Empty(_mounts[slot], unlockTop: false);

    /// <summary>Whether the slot's tmpfs is (nearly) out of space or inodes: a failed job there met its disk limit.</summary>
    public bool IsFull(int slot) =>
        Libc.FreeSpace(_mounts[slot]) is { } free && (free.FreeBytes < FullMargin || free.FreeInodes == 0);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        AppDomain.CurrentDomain.ProcessExit -= _onExit;
        foreach (var mount in _mounts)
        {
            Libc.Unmount(mount, Libc.MNT_DETACH);
        }
    }

    /// <summary>
    /// Detaches every mount below a folder (deepest first), so a dead engine's folder can be removed rather than
    /// failing on its slots' mount points.
    /// </summary>
    public static void UnmountBeneath(string directory)
    {
        if (Libc.GetEffectiveUserId() != 0 || !File.Exists("/proc/self/mountinfo"))
        {
            return;
        }
        var prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + "/";
        var beneath = new List<string>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4)
            {
                var mountPoint = Unescape(fields[4]);
                if (mountPoint.StartsWith(prefix, StringComparison.Ordinal))
                {
                    beneath.Add(mountPoint);
                }
            }
        }
        foreach (var mountPoint in beneath.OrderByDescending(p => p.Length))
        {
            Libc.Unmount(mountPoint, Libc.MNT_DETACH);
        }
    }

    /// <summary>mountinfo writes space, tab, newline and backslash in a path as a backslash and three octal digits.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\'))
        {
            return field;
        }
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length)
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }
        return text.ToString();
    }
}
