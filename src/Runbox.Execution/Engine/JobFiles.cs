using Runbox.Execution.Jobs;
using Runbox.Execution.Native;

namespace Runbox.Execution.Engine;

/// <summary>
/// The job's working directory on the host side: writing its inputs, collecting what it left, removing it.
/// Whatever the job planted (symlinks, FIFOs, devices) is never followed, opened or blocked on.
/// </summary>
internal static class JobFiles
{
    public const int MaxNameLength = 255;

    /// <summary>Null when <paramref name="name"/> is a safe relative path, else why not.</summary>
    public static string? ValidateName(string name)
    {
        if (name.Length == 0 || name.Length > 1024)
        {
            return "file name is empty or longer than 1024 characters";
        }
        if (name.Contains('\0') || name.Contains('\n') || name.Contains('\r') || name.Contains('\\'))
        {
            return $"file name '{Printable(name)}' contains NUL, a newline or a backslash";
        }
        if (name.StartsWith('/'))
        {
            return $"file name '{Printable(name)}' is absolute; give a path relative to the working directory";
        }
        foreach (var part in name.Split('/'))
        {
            if (part is "" or "." or "..")
            {
                return $"file name '{Printable(name)}' has an empty, '.' or '..' component";
            }
            if (part.Length > MaxNameLength)
            {
                return $"file name '{Printable(name)}' has a component longer than {MaxNameLength} characters";
            }
        }
        return null;
    }

    private static string Printable(string name) =>
        name.Length > 80 ? name[..80].Replace("\0", "\\0").Replace("\n", "\\n") + "..." : name.Replace("\0", "\\0").Replace("\n", "\\n");

    /// <summary>Writes the inputs; returns name → (size, mtime) so unchanged inputs are not reported as artifacts.</summary>
    public static Dictionary<string, (long Size, DateTime Modified)> WriteInputs(string directory, IEnumerable<KeyValuePair<string, byte[]>> files)
    {
        var written = new Dictionary<string, (long, DateTime)>();
        foreach (var (name, content) in files)
        {
            var path = Path.Combine(directory, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, content);
            var info = new FileInfo(path);
            written[name] = (info.Length, info.LastWriteTimeUtc);
        }
        return written;
    }

    /// <summary>Files left out are counted up to this many (a job may leave a million).</summary>
    public const int SkippedCountLimit = 10_000;

    /// <summary>
    /// The regular files the job left (not its unchanged inputs), copied to <paramref name="destination"/> when
    /// given, within the count and size limits; <paramref name="skipped"/> counts those past the limits. Symlinks and
    /// special files are skipped, never followed.
    /// </summary>

    public static List<Artifact> Collect(string directory, IReadOnlyDictionary<string, (long Size, DateTime Modified)> inputs,
        string? destination, long maxBytes, int maxCount, out int skipped)
    {
        var artifacts = new List<Artifact>();
        long total = 0;
        skipped = 0;
        var stack = new Stack<string>();
        stack.Push(directory);
        // Walked on past the count, so the files left out are counted and the caller can say so; but not through a
        // million empty files: counting stops at SkippedCountLimit.
        while (stack.Count > 0 && skipped < SkippedCountLimit)
        {
            var current = stack.Pop();
            IEnumerable<FileSystemInfo> entries;
            try
            {
                entries = new DirectoryInfo(current).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (var entry in entries)
            {
                if (entry.LinkTarget is not null)
                {
                    continue;
                }
                if (entry is DirectoryInfo)
                {
                    stack.Push(entry.FullName);
                    continue;
                }
                var name = Path.GetRelativePath(directory, entry.FullName).Replace('\\', '/');
                if (ValidateName(name) is not null)
                {
                    continue;
                }
                var file = (FileInfo)entry;
                if (inputs.TryGetValue(name, out var input) && input.Size == file.Length && input.Modified == file.LastWriteTimeUtc)
                {
                    continue;
                }
                if (artifacts.Count >= maxCount || total + file.Length > maxBytes)
                {
                    skipped++;
                    continue;
                }
                var kept = destination is null ? entry.FullName : CopyOut(entry.FullName, Path.Combine(destination, name));
                if (kept is null)
                {
                    continue;
                }
                total += file.Length;
                artifacts.Add(new Artifact(name, file.Length, kept));
            }
        }
        return artifacts;
    }

    /// <summary>Copies a file only if it opens as a regular file without following a link; null otherwise.</summary>
    private static string? CopyOut(string source, string target)
    {
        var fd = Libc.OpenRegularNoFollow(source);
        if (fd < 0)
        {
            return null;
        }
        using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        if (!Libc.IsRegularFile(fd))
        {
            return null;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        using var input = new FileStream(handle, FileAccess.Read, 0);
        using var output = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None);
        input.CopyTo(output);
        return target;
    }

    /// <summary>The regular files already in a folder, with size and time, so only what a job changes counts.</summary>
    public static Dictionary<string, (long Size, DateTime Modified)> Snapshot(string directory)
    {
        var files = new Dictionary<string, (long, DateTime)>();
        foreach (var path in Walk(directory))
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is null)
            {
                files[Path.GetRelativePath(directory, path).Replace('\\', '/')] = (info.Length, info.LastWriteTimeUtc);
            }
        }
        return files;
    }

    public static bool SameDirectory(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);

    /// <summary>Changes the owner of a tree without following any link in it.</summary>
    public static void ChownTree(string directory, uint uid, uint gid)
    {
        Libc.Lchown(directory, uid, gid);
        foreach (var path in Walk(directory, includeDirectories: true))
        {
            Libc.Lchown(path, uid, gid);
        }
    }

    /// <summary>Every entry beneath a folder, entering no linked directory.</summary>
    private static IEnumerable<string> Walk(string directory, bool includeDirectories = false)
    {
        var stack = new Stack<string>();
        stack.Push(directory);
        while (stack.Count > 0)
        {
            List<FileSystemInfo> entries;
            try
            {
                entries = new DirectoryInfo(stack.Pop()).EnumerateFileSystemInfos().ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (var entry in entries)
            {
                if (entry is DirectoryInfo && entry.LinkTarget is null)
                {
                    stack.Push(entry.FullName);
                    if (!includeDirectories)
                    {
                        continue;
                    }
                }
                yield return entry.FullName;
            }
        }
    }

    /// <summary>Removes a directory tree; links are removed, never their targets.</summary>
    public static void Remove(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }
        // Directories the job made unwritable must not stop the clean-up. Walked by hand, never through a link.
        var stack = new Stack<string>();
        stack.Push(directory);
        while (stack.Count > 0)
        {
            var current = stack.Pop();
            Libc.Chmod(current, 0x1C0);
            try
            {
                foreach (var entry in new DirectoryInfo(current).EnumerateDirectories())
                {
                    if (entry.LinkTarget is null)
                    {
                        stack.Push(entry.FullName);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        Directory.Delete(directory, recursive: true);
    }
}
