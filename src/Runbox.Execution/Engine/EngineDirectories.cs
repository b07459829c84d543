using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Runbox.Execution.Native;

namespace Runbox.Execution.Engine;

/// <summary>
/// Each engine works in its own folder under the work root, so engines sharing a root never touch each other's jobs,
/// and the folders of engines that died are removed at the next start. An engine holds a lock on a file beside its
/// folder (<c>engine-&lt;pid&gt;-&lt;id&gt;.lock</c>) for its whole life; the kernel drops it when the process dies,
/// however it dies. The lock, not the pid in the name, tells a live engine from a dead one: a pid is reused (a container
/// restarted after a crash runs its program as the same pid again) and means nothing across PID namespaces (two
/// containers sharing a work root).
/// </summary>
internal static class EngineDirectories
{
    private const string Prefix = "engine-";
    private const string LockSuffix = ".lock";

    /// <summary>Makes a new engine's folder, and the lock that says it is in use (dispose it to give that up).</summary>
    public static (string Path, SafeFileHandle Lock) CreateInstance(string workRoot)
    {
        // 0711: jobs running as other uids may traverse to their own folder but not list their neighbours.
        File.SetUnixFileMode(workRoot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var path = Path.Combine(workRoot, $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}"[..(Prefix.Length + 20)]);
        // Locked before the folder exists: another engine's start never sees the folder without its lock held.
        var held = Libc.TryLockFile(path + LockSuffix, create: true) ?? throw new IOException($"{path}{LockSuffix} is locked by another process.");
        try
        {
            var traverse = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            Directory.CreateDirectory(path, traverse);
            Directory.CreateDirectory(Path.Combine(path, "jobs"), traverse);
            Directory.CreateDirectory(Path.Combine(path, "run"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return (path, held);
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>Removes the folders of engines that died (killed, crashed), and locks left without a folder.</summary>
    public static void RemoveLeftovers(string workRoot, ILogger logger)
    {
        foreach (var directory in Directory.EnumerateDirectories(workRoot, Prefix + "*"))
        {
            if (!TryTakeOver(directory, out var held))
            {
                continue;
            }
            using (held)
            {
                RemoveInstance(directory, logger);
                DeleteLock(directory, logger);
            }
        }
        foreach (var lockFile in Directory.EnumerateFiles(workRoot, Prefix + "*" + LockSuffix))
        {
            // An engine that died between its lock and its folder; a live one keeps its lock held.
            var directory = lockFile[..^LockSuffix.Length];
            if (Directory.Exists(directory))
            {
                continue;
            }
            if (TryTakeOver(directory, out var held))
            {
                using (held)
                {
                    DeleteLock(directory, logger);
                }
            }
        }
    }

    /// <summary>Removes an engine's folder (its own at dispose, or a dead one's), unmounting its slot disks first.</summary>
    public static void RemoveInstance(string directory, ILogger logger)
    {
        try
        {
            // A dead engine's slot disks are still mounted; removing through them would fail on their mount points.
            Sandbox.SlotDisks.UnmountBeneath(directory);
            JobFiles.Remove(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.CleanupFailed(logger, directory, e.Message);
        }
    }

    /// <summary>Removes the lock file of an engine's folder; its lock must be held by the caller or gone with its engine.</summary>
    public static void DeleteLock(string directory, ILogger logger)
    {
        try
        {
            File.Delete(directory + LockSuffix);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.CleanupFailed(logger, directory + LockSuffix, e.Message);
        }
    }

    /// <summary>
    /// True when the folder's engine is dead; <paramref name="held"/> is then its lock, held by this process until
    /// disposed (so no other engine removes the folder at the same time), or null for a folder without a lock file.
    /// </summary>
    private static bool TryTakeOver(string directory, out SafeFileHandle? held)
    {
        held = null;
        try
        {
            held = Libc.TryLockFile(directory + LockSuffix, create: false);
            return held is not null;
        }
        catch (FileNotFoundException)
        {
            // A folder of an engine from before the locks: its pid is all there is to go by.
            var pidText = Path.GetFileName(directory)[Prefix.Length..].Split('-')[0];
            return !(int.TryParse(pidText, out var pid) && pid != Environment.ProcessId && Directory.Exists($"/proc/{pid}"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not ours to judge (another user's lock file): left alone.
            return false;
        }
    }
}
