using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Runbox.Server.Configuration;

/// <summary>
/// The paths inside the data folder, resolved once to absolute paths. One process at a time: it holds a lock on
/// <c>runbox.lock</c> while it lives, since a second node on the same folder would take the same node name and end the
/// first one's running jobs as "worker lost" at its start, and share its work root.
/// </summary>
public sealed class DataFolder : IDisposable
{
    private readonly FileStream _lock;

    public DataFolder(IOptions<RunboxOptions> options)
    {
        Root = Path.GetFullPath(options.Value.DataDirectory);
        try
        {
            Directory.CreateDirectory(Root);
            // FileShare.None takes flock(LOCK_EX | LOCK_NB) on Unix; the kernel drops it when the process dies.
            _lock = new FileStream(Path.Combine(Root, "runbox.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            // Where no folder can be (/proc/x) mkdir may look done and only the first file inside fails.
            throw new IOException($"The data folder {Root} cannot be made or written: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new IOException($"Another Runbox process uses the data folder {Root}; stop it, or give this one another --data.", e);
        }
        Directory.CreateDirectory(Scratch);
        // What running jobs left, on its way to the store: the server's user only, as the store keeps it.
        File.SetUnixFileMode(Scratch, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Root { get; }

    public string Database => Path.Combine(Root, "runbox.db");

    public string Artifacts => Path.Combine(Root, "artifacts");

    public string AdminKeyFile => Path.Combine(Root, "admin.key");

    /// <summary>There while the admin key in <see cref="AdminKeyFile"/> has not been printed: no start served since it was made.</summary>
    public string UnshownAdminKeyFile => Path.Combine(Root, "admin.key.unshown");

    public string WebhookSecretFile => Path.Combine(Root, "webhook.secret");

    /// <summary>Artifacts copied out of running jobs before they go to the store; emptied at start.</summary>
    public string Scratch => Path.Combine(Root, "scratch");

    /// <summary>
    /// The engine's work root, one per data folder: stable across restarts so leftovers of a killed process are
    /// found, and apart from other servers on the same host.
    /// </summary>
    public string DefaultWorkRoot => WorkRootFor(Root);

    /// <summary>The default work root of a server on the data folder <paramref name="dataRoot"/> (tests remove it with the folder).</summary>
    public static string WorkRootFor(string dataRoot)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(dataRoot))))[..12];
        return Path.Combine(Path.GetTempPath(), "runbox-work-" + hash);
    }

    public void Dispose() => _lock.Dispose();

    /// <summary>Writes a secret readable by the owner only (0600), created with that mode so it is never exposed.</summary>
    public static void WriteSecretFile(string path, string content)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }
        // UnixCreateMode applies only to a new file; an existing one keeps its mode otherwise.
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
