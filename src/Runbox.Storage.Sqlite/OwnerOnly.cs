namespace Runbox.Storage.Sqlite;

/// <summary>
/// The database holds every job's script, environment and output, and the artifact folders what the jobs left: only the
/// server's own user may read them, whatever the umask (with the usual 022, <c>runbox.db</c> was 0644 in a 0755 folder,
/// open to every local user). One that exists already is set so too: earlier versions made them with the umask's mode.
/// </summary>
internal static class OwnerOnly
{
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode FolderMode = FileMode | UnixFileMode.UserExecute;

    /// <summary>
    /// The database file, made empty (SQLite takes an empty file for a new database) with mode 0600 when missing. SQLite
    /// makes its <c>-wal</c> and <c>-shm</c> files with the database's mode; ones left by an earlier version are set here.
    /// </summary>
    public static void Database(string path)
    {
        using (new FileStream(path, new FileStreamOptions { Mode = System.IO.FileMode.OpenOrCreate, Access = FileAccess.Write, UnixCreateMode = FileMode }))
        {
        }
        foreach (var file in (string[])[path, path + "-wal", path + "-shm"])
        {
            if (File.Exists(file))
            {
                File.SetUnixFileMode(file, FileMode);
            }
        }
    }

    /// <summary>A folder with mode 0700: what is beneath it is out of other users' reach whatever its own mode.</summary>
    public static void Folder(string path)
    {
        Directory.CreateDirectory(path, FolderMode);
        File.SetUnixFileMode(path, FolderMode);
    }
}
