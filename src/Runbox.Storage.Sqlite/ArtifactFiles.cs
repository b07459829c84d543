using Runbox.Storage.Artifacts;

namespace Runbox.Storage.Sqlite;

/// <summary>
/// Artifacts as plain files under <c>&lt;data&gt;/artifacts/&lt;jobId&gt;/&lt;name&gt;</c>, so operators can back them up
/// and serve them with ordinary tools. Written to <c>&lt;data&gt;/tmp</c> then renamed into place, so a reader or a crash
/// never sees half a file; no symbolic link is followed on the way.
/// </summary>
internal sealed class ArtifactFiles
{
    private const string TempSuffix = ".tmp";

    private readonly string root;
    private readonly string temp;
    private readonly long maxBytes;

    public ArtifactFiles(string dataFolder, long maxBytes)
    {
        root = Path.Combine(dataFolder, "artifacts");
        temp = Path.Combine(dataFolder, "tmp");
        this.maxBytes = maxBytes;
        OwnerOnly.Folder(root);
        OwnerOnly.Folder(temp);
    }

    public async Task SaveAsync(string jobId, string name, Stream content, CancellationToken cancellationToken)
    {
        var tempPath = await WriteTempAsync(jobId, name, content, cancellationToken).ConfigureAwait(false);
        try
        {
            MoveIntoPlace(tempPath, jobId, name);
        }
        finally
        {
            File.Delete(tempPath);
        }
    }

    /// <summary>
    /// Writes the content to a new file under <c>tmp</c> and returns its path, for <see cref="MoveIntoPlace"/>; the caller
    /// deletes it if it is not moved.
    /// </summary>
    public async Task<string> WriteTempAsync(string jobId, string name, Stream content, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(temp);
        var tempPath = Path.Combine(temp, Guid.NewGuid().ToString("N") + TempSuffix);
        try
        {
            // CreateNew (O_EXCL) refuses to open through anything already at that path, a link included.
            await using (var file = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                var buffer = new byte[81920];
                long total = 0;
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    total += read;
                    if (total > maxBytes)
                    {
                        throw new ArtifactTooLargeException(jobId, name, maxBytes);
                    }
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
                file.Flush(flushToDisk: true);
            }
            return tempPath;
        }
        catch
        {
            File.Delete(tempPath);
            throw;
        }
    }

    /// <summary>
    /// Deletes what saves cut short left in <c>tmp</c>: files named as <see cref="WriteTempAsync"/> names them (32 hex
    /// digits and <c>.tmp</c>), never a link, and none a writer still holds (it writes under FileShare.None, which is
    /// flock(LOCK_EX) here: taking the same lock fails while that process lives and keeps the file open).
    /// </summary>
    public (int Files, long Bytes) RemoveLeftoverTemps()
    {
        if (!Directory.Exists(temp))
        {
            return (0, 0);
        }
        var (files, bytes) = (0, 0L);
        foreach (var file in new DirectoryInfo(temp).EnumerateFiles("*" + TempSuffix))
        {
            var stem = file.Name[..^TempSuffix.Length];
            if (file.LinkTarget is not null || stem.Length != 32 || !stem.All(char.IsAsciiHexDigitLower))
            {
                continue;
            }
            try
            {
                var length = file.Length;
                using (new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.None))
                {
                    file.Delete();
                }
                files++;
                bytes += length;
            }
            catch (IOException)
            {
                // Held by a live writer, or gone meanwhile: not a leftover.
            }
        }
        return (files, bytes);
    }

    /// <summary>Renames a file <see cref="WriteTempAsync"/> wrote into place as the job's artifact.</summary>
    public void MoveIntoPlace(string tempPath, string jobId, string name)
    {
        var target = PathIn(JobFolder(jobId), name, createFolders: true)!;
        // rename(2) replaces whatever is at the target, a link included, without following it.
        File.Move(tempPath, target, overwrite: true);
    }

    public IReadOnlyList<ArtifactRecord> List(string jobId)
    {
        if (!IsFolderName(jobId))
        {
            return [];
        }
        var jobFolder = JobFolder(jobId);
        if (!IsRealDirectory(jobFolder))
        {
            return [];
        }
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            AttributesToSkip = FileAttributes.ReparsePoint,
            IgnoreInaccessible = true,
        };
        return new DirectoryInfo(jobFolder).EnumerateFiles("*", options)
            .Select(file => new ArtifactRecord(
                jobId,
                Path.GetRelativePath(jobFolder, file.FullName).Replace(Path.DirectorySeparatorChar, '/'),
                file.Length,
                new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero)))
            .OrderBy(artifact => artifact.Name, StringComparer.Ordinal)
            .ToList();
    }

    public Stream? Open(string jobId, string name)
    {
        if (!IsFolderName(jobId))
        {
            return null;
        }
        var path = PathIn(JobFolder(jobId), name, createFolders: false);
        if (path is null)
        {
            return null;
        }
        var file = new FileInfo(path);
        if (!file.Exists || file.LinkTarget is not null)
        {
            return null;
        }
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, useAsync: true);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    public void DeleteJob(string jobId)
    {
        if (!IsFolderName(jobId))
        {
            return;
        }
        var jobFolder = JobFolder(jobId);
        var info = new DirectoryInfo(jobFolder);
        if (info.LinkTarget is not null)
        {
            File.Delete(jobFolder);
        }
        else if (info.Exists)
        {
            // Recursive delete unlinks links inside rather than following them.
            Directory.Delete(jobFolder, recursive: true);
        }
    }

    /// <summary>A job whose id cannot be one folder name can hold no artifacts here (saving for it throws).</summary>
    private static bool IsFolderName(string jobId) =>
        ArtifactName.IsValid(jobId, out _) && !jobId.Contains('/', StringComparison.Ordinal);

    private string JobFolder(string jobId)
    {
        if (!IsFolderName(jobId))
        {
            throw new ArgumentException("A job id used as a folder name must be one plain path segment.", nameof(jobId));
        }
        return Path.Combine(root, jobId);
    }

    /// <summary>The file's path, refusing any linked folder on the way; null when a folder is missing and not created.</summary>
    private static string? PathIn(string jobFolder, string name, bool createFolders)
    {
        var segments = name.Split('/');
        var current = jobFolder;
        for (var i = -1; i < segments.Length - 1; i++)
        {
            current = i < 0 ? current : Path.Combine(current, segments[i]);
            var folder = new DirectoryInfo(current);
            if (folder.LinkTarget is not null)
            {
                throw new IOException($"Refusing to follow the symbolic link {current}.");
            }
            if (!folder.Exists)
            {
                if (!createFolders)
                {
                    return null;
                }
                Directory.CreateDirectory(current);
            }
        }
        return Path.Combine(current, segments[^1]);
    }

    private static bool IsRealDirectory(string path)
    {
        var info = new DirectoryInfo(path);
        return info.Exists && info.LinkTarget is null;
    }
}
