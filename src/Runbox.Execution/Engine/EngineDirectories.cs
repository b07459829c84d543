using Microsoft.Extensions.Logging;

namespace Runbox.Execution.Engine;

/// <summary>
/// Each engine works in its own folder under the work root, named for its process, so engines sharing a root
/// never touch each other's jobs, and the folders of engines that died are removed at the next start.
/// </summary>
internal static class EngineDirectories
{
    private const string Prefix = "engine-";

    public static string CreateInstance(string workRoot)
    {
        // 0711: jobs running as other uids may traverse to their own folder but not list their neighbours.
        File.SetUnixFileMode(workRoot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var path = Path.Combine(workRoot, $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}"[..(Prefix.Length + 20)]);
        var traverse = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        Directory.CreateDirectory(path, traverse);
        Directory.CreateDirectory(Path.Combine(path, "jobs"), traverse);
        Directory.CreateDirectory(Path.Combine(path, "run"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>Removes the folders of engines whose process is gone (killed, crashed).</summary>
    public static void RemoveLeftovers(string workRoot, ILogger logger)
    {
        foreach (var directory in Directory.EnumerateDirectories(workRoot, Prefix + "*"))
        {
            var name = Path.GetFileName(directory);
            var pidText = name[Prefix.Length..].Split('-')[0];
            if (int.TryParse(pidText, out var pid) && (pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}")))
            {
                continue;
            }
            RemoveInstance(directory, logger);
        }
    }

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
}
