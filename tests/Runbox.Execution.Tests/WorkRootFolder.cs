namespace Runbox.Execution.Tests;

/// <summary>
/// A short engine work root for one test (its control sockets live below it, and a Unix socket path is limited to 108
/// bytes), removed on dispose: dispose it after the engine.
/// </summary>
internal sealed class WorkRootFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "runbox-tests", Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Path))
            {
                Directory.Delete(Path, recursive: true);
            }
        }
        catch (IOException)
        {
            // A job's file still held by a process that is just ending: left for the temp folder's own cleaning.
        }
    }
}
