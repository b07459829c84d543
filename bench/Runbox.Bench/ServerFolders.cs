namespace Runbox.Bench;

/// <summary>The folders of a server the benchmark ran (in process, or a `runbox serve` or `runbox worker` it killed).</summary>
internal static class ServerFolders
{
    /// <summary>
    /// Unmounts the slot disks a killed server left in its work root (no server will start on that data folder again
    /// to do it) and removes the work root and the data folder.
    /// </summary>
    public static void Remove(string dataFolder)
    {
        var workRoot = Runbox.Server.Configuration.DataFolder.WorkRootFor(dataFolder);
        Runbox.Execution.Engine.JobEngine.RemoveLeftovers(workRoot);
        foreach (var folder in new[] { dataFolder, workRoot })
        {
            try
            {
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
