namespace Runbox.Storage.Tests;

/// <summary>A folder under the system temp folder, deleted when the test class is done.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = Directory.CreateTempSubdirectory("runbox-storage-").FullName;
    }

    public string Path { get; }

    public string NewSubfolder() => Directory.CreateDirectory(System.IO.Path.Combine(Path, Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a file still open elsewhere only leaves litter in the temp folder.
        }
    }
}
