using Runbox.Execution.Engine;
using Runbox.Server.Configuration;

namespace Runbox.Testing;

/// <summary>
/// What a Runbox server leaves behind: its data folder, and the engine's work root beside it
/// (<c>/tmp/runbox-work-HASH</c>), where a server that was killed also leaves its slot disks mounted. Nothing else
/// removes them: no server starts on that data folder again.
/// </summary>
internal static class ServerFolders
{
    /// <summary>Removes the data folder and its work root, unmounting the slot disks left there.</summary>
    public static void Remove(string dataFolder)
    {
        RemoveFolder(dataFolder);
        // A killed server's slot disks are unmounted once its process is gone (it may still be ending), so each try
        // unmounts first; else nothing could go.
        RemoveFolder(DataFolder.WorkRootFor(dataFolder), before: root => JobEngine.RemoveLeftovers(root));
    }

    /// <summary>Best effort, a few tries: a process that is just ending may still be adding files to it.</summary>
    private static void RemoveFolder(string folder, Action<string>? before = null)
    {
        for (var attempt = 0; attempt < 5 && Directory.Exists(folder); attempt++)
        {
            try
            {
                before?.Invoke(folder);
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Thread.Sleep(200);
            }
        }
    }
}
