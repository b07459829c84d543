namespace Runbox.Execution.Invocations;

/// <summary>
/// The files a caller's working directory held before a run, so that the ones the run left untouched are not
/// reported as what it produced. (The engine knows its own inputs; it cannot know what was there already.)
/// </summary>
internal sealed class WorkingDirectorySnapshot
{
    private readonly Dictionary<string, (long Size, DateTime Modified)> _files = new(StringComparer.Ordinal);

    private WorkingDirectorySnapshot()
    {
    }

    public static WorkingDirectorySnapshot Take(string directory)
    {
        var snapshot = new WorkingDirectorySnapshot();
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            IgnoreInaccessible = true,
            // Links are never followed, as in the engine's own walk.
            AttributesToSkip = FileAttributes.ReparsePoint,
        };
        foreach (var path in Directory.EnumerateFiles(directory, "*", options))
        {
            var info = new FileInfo(path);
            snapshot._files[Path.GetRelativePath(directory, path).Replace(Path.DirectorySeparatorChar, '/')] = (info.Length, info.LastWriteTimeUtc);
        }
        return snapshot;
    }

    /// <summary>Whether <paramref name="name"/> (relative, '/' separated) was there before with the same size and time.</summary>
    public bool Unchanged(string name, string workingDirectory)
    {
        if (!_files.TryGetValue(name, out var before))
        {
            return false;
        }
        var now = new FileInfo(Path.Combine(workingDirectory, name));
        return now.Exists && now.Length == before.Size && now.LastWriteTimeUtc == before.Modified;
    }
}
