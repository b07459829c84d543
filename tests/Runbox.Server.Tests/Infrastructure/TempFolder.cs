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

    public void Dispose() => Runbox.Testing.ServerFolders.Remove(Path);
}
