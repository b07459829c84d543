using Runbox.Server.Configuration;

namespace Runbox.Server.Tests.Infrastructure;

/// <summary>
/// A fresh folder under the system temp folder, removed on dispose together with the engine work root a server on it
/// makes beside it (<c>/tmp/runbox-work-HASH</c>), which a killed server process leaves behind.
/// </summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "runbox-server-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        Remove(Path);
        // A server killed by a test leaves its slot disks mounted there. They are unmounted once its process is gone
        // (it may still be ending), so each try unmounts first; else nothing could go.
        Remove(DataFolder.WorkRootFor(Path), before: root => Runbox.Execution.Engine.JobEngine.RemoveLeftovers(root));
    }

    /// <summary>Best effort, a few tries: a process that is just ending may still be adding files to it.</summary>
    public static void Remove(string folder, Action<string>? before = null)
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
