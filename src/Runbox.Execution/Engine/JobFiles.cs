using System.Text;
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
    /// special files are skipped, never followed: the folders are walked as <see cref="WalkBeneath"/> walks and each file
    /// is opened within its folder through no link (<see cref="Libc.OpenFileBeneath"/>), so a folder swapped for a link
    /// after it was listed leads nowhere, and a file's size and time are those of what was opened.
    /// </summary>
    public static List<Artifact> Collect(string directory, IReadOnlyDictionary<string, (long Size, DateTime Modified)> inputs,
        string? destination, long maxBytes, int maxCount, out int skipped)
    {
        var artifacts = new List<Artifact>();
        long total = 0;
        var left = 0;
        WalkBeneath(directory, (folder, bytes, path, type) =>
        {
            // Walked on past the count, so the files left out are counted and the caller can say so; but not through a
            // million empty files: counting stops at SkippedCountLimit.
            if (left >= SkippedCountLimit)
            {
                return Step.Stop;
            }
            // A name that is not UTF-8 is left out: no path of a .NET string opens it, and a U+FFFD in its place could
            // open another file of that name.
            if (Decode(path) is not { } name)
            {
                return Step.Pass;
            }
            if (IsFolder(folder, bytes, type))
            {
                return Step.Enter;
            }
            if (ValidateName(name) is not null)
            {
                return Step.Pass;
            }
            var fd = Libc.OpenFileBeneath(folder, bytes);
            if (fd < 0)
            {
                return Step.Pass; // a link, or gone
            }
            using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
            try
            {
                if (!Libc.IsRegularFile(fd))
                {
                    return Step.Pass;
                }
                var size = RandomAccess.GetLength(handle);
                if (inputs.TryGetValue(name, out var input) && input.Size == size && input.Modified == File.GetLastWriteTimeUtc(handle))
                {
                    return Step.Pass;
                }
                if (artifacts.Count >= maxCount || total + size > maxBytes)
                {
                    left++;
                    return Step.Pass;
                }
                var kept = destination is null ? Path.Combine(directory, name) : CopyOut(handle, Path.Combine(destination, name));
                total += size;
                artifacts.Add(new Artifact(name, size, kept));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // One the job made unreadable is left out, not every artifact with it.
            }
            return Step.Pass;
        });
        skipped = left;
        return artifacts;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Copies an opened file out (its descriptor: nothing is looked up by name again).</summary>
    private static string CopyOut(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        using var input = new FileStream(handle, FileAccess.Read, 0);
        using var output = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None);
        input.CopyTo(output);
        return target;
    }

    /// <summary>
    /// The regular files already in a folder, with size and time, so only what a job changes counts. Walked as
    /// <see cref="WalkBeneath"/> walks: a folder swapped for a link meanwhile is not listed through.
    /// </summary>
    public static Dictionary<string, (long Size, DateTime Modified)> Snapshot(string directory)
    {
        var files = new Dictionary<string, (long, DateTime)>();
        WalkBeneath(directory, (folder, name, path, _) =>
        {
            if (Libc.StatAt(folder, name) is not { } entry)
            {
                return Step.Pass; // gone
            }
            if (entry.IsRegularFile && Decode(path) is { } key)
            {
                files[key] = (entry.Size, entry.ModifiedUtc);
            }
            return entry.IsDirectory ? Step.Enter : Step.Pass;
        });
        return files;
    }

    public static bool SameDirectory(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);

    /// <summary>
    /// Changes the owner of a tree without following any link in it: each entry is changed by its name within its
    /// open folder (a link itself, never its target), and a folder swapped for a link meanwhile is not entered.
    /// </summary>
    public static void ChownTree(string directory, uint uid, uint gid) =>
        WalkBeneath(directory, (folder, name, _, type) =>
        {
            Libc.FchownAt(folder, name, uid, gid);
            return IsFolder(folder, name, type) ? Step.Enter : Step.Pass;
        }, top => Libc.Fchown(top, uid, gid));

    /// <summary>An entry is a folder (not a link to one) by its d_type, or by fstatat where the file system gives none.</summary>
    private static bool IsFolder(int folder, byte[] name, byte type) =>
        type == Libc.DT_DIR || (type == Libc.DT_UNKNOWN && Libc.StatAt(folder, name) is { IsDirectory: true });

    /// <summary>
    /// What a walk does with one entry: <c>folder</c> is the open folder it is in, <c>name</c> its name there,
    /// <c>path</c> its path from the top (bytes as the kernel has them), <c>type</c> its d_type.
    /// </summary>
    private delegate Step VisitEntry(int folder, byte[] name, byte[] path, byte type);

    /// <summary>After an entry: go on, enter it (a folder), or end the walk.</summary>
    private enum Step
    {
        Pass,
        Enter,
        Stop,
    }

    /// <summary>
    /// Every entry beneath a folder, handed to <paramref name="visit"/> with the descriptor of the folder it is in
    /// (<paramref name="top"/> gets the top one's first). Each folder is opened relative to the top through no link
    /// in any part of its path (<see cref="Libc.OpenDirectoryBeneath"/>, as <see cref="Collect"/> opens), so one the
    /// job swapped for a link after it was listed leads nowhere; its entries are then reached by name within it, a
    /// call each, no more than a walk by path made. A folder's entries come in name order (ordinal, as .NET strings
    /// compare), so what is collected, and where a limit cuts, does not depend on the order the file system keeps.
    /// </summary>
    private static void WalkBeneath(string directory, VisitEntry visit, Action<int>? top = null)
    {
        var topFd = Libc.OpenDirectory(directory);
        if (topFd < 0)
        {
            return;
        }
        try
        {
            top?.Invoke(topFd);
            var stack = new Stack<byte[]>();
            stack.Push([]);
            while (stack.Count > 0)
            {
                var folder = stack.Pop();
                var fd = folder.Length == 0 ? topFd : Libc.OpenDirectoryBeneath(topFd, folder);
                if (fd < 0)
                {
                    continue; // no longer a folder, a link now
                }
                try
                {
                    var entries = Libc.DirectoryEntries(fd) ?? [];
                    entries.Sort(ByName);
                    foreach (var (name, type) in entries)
                    {
                        var path = folder.Length == 0 ? name : [.. folder, (byte)'/', .. name];
                        switch (visit(fd, name, path, type))
                        {
                            case Step.Enter:
                                stack.Push(path);
                                break;
                            case Step.Stop:
                                return;
                        }
                    }
                }
                finally
                {
                    if (fd != topFd)
                    {
                        Libc.Close(fd);
                    }
                }
            }
        }
        finally
        {
            Libc.Close(topFd);
        }
    }

    private static int ByName((byte[] Name, byte Type) a, (byte[] Name, byte Type) b)
    {
        var byText = string.CompareOrdinal(Encoding.UTF8.GetString(a.Name), Encoding.UTF8.GetString(b.Name));
        return byText != 0 ? byText : a.Name.AsSpan().SequenceCompareTo(b.Name);
    }

    /// <summary>A path as a string; null when it is not UTF-8 (no .NET string would name that file again).</summary>
    private static string? Decode(byte[] path)
    {
        try
        {
            return StrictUtf8.GetString(path);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>Removes a directory tree; links are removed, never their targets.</summary>
    public static void Remove(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }
        Empty(directory, unlockTop: true);
        Directory.Delete(directory);
    }

    /// <summary>
    /// Removes everything in a directory (the directory stays), never through a link. The job named what is in it:
    /// names are handled as the kernel's bytes (a name that is not UTF-8 has no .NET string that opens it) and relative to
    /// open directories (a tree may be deeper than any path can be long), and no descriptor is held per level: a
    /// subdirectory's own subdirectories are moved up into <paramref name="directory"/> and emptied in a later pass.
    /// Directories the job made unwritable are made writable first (<paramref name="unlockTop"/>: the top one too).
    /// Throws an IOException when something cannot be removed.
    /// </summary>
    public static void Empty(string directory, bool unlockTop)
    {
        var top = Libc.OpenDirectory(directory);
        if (top < 0)
        {
            throw new IOException($"cannot open {directory} to empty it: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
        try
        {
            if (unlockTop)
            {
                Libc.Fchmod(top, 0x1C0);
            }
            var lifted = 0;
            while (Names(top, directory) is { Count: > 0 } names)
            {
                foreach (var name in names)
                {
                    if (Unlink(top, name, directory) == 0)
                    {
                        continue;
                    }
                    var sub = Libc.OpenDirectoryAt(top, name);
                    if (sub < 0)
                    {
                        throw new IOException($"cannot open a folder in {directory}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
                    }
                    try
                    {
                        Libc.Fchmod(sub, 0x1C0);
                        foreach (var child in Names(sub, directory))
                        {
                            if (Unlink(sub, child, directory) == 0)
                            {
                                continue;
                            }
                            // A directory: up into the top one, under a name that is free there (a move needs it writable).
                            var grandchild = Libc.OpenDirectoryAt(sub, child);
                            if (grandchild >= 0)
                            {
                                Libc.Fchmod(grandchild, 0x1C0);
                                Libc.Close(grandchild);
                            }
                            int error;
                            while ((error = Libc.RenameAtNoReplace(sub, child, top, System.Text.Encoding.ASCII.GetBytes($".runbox-lifted-{lifted++}"))) == Libc.EEXIST)
                            {
                            }
                            if (error != 0)
                            {
                                throw new IOException($"cannot move a folder up in {directory}: errno {error}");
                            }
                        }
                    }
                    finally
                    {
                        Libc.Close(sub);
                    }
                    if (Libc.UnlinkAt(top, name, Libc.AT_REMOVEDIR) is var removed and not 0 and not Libc.ENOENT)
                    {
                        throw new IOException($"cannot remove a folder in {directory}: errno {removed}");
                    }
                }
            }
        }
        finally
        {
            Libc.Close(top);
        }
    }

    private static List<byte[]> Names(int dirFd, string directory) =>
        Libc.DirectoryNames(dirFd) ?? throw new IOException($"cannot list a folder in {directory}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");

    /// <summary>Unlinks a non-directory: 0 when it is gone, else the errno (EISDIR or EPERM for a directory).</summary>
    private static int Unlink(int dirFd, byte[] name, string directory)
    {
        var error = Libc.UnlinkAt(dirFd, name, 0);
        return error switch
        {
            0 or Libc.ENOENT => 0,
            Libc.EISDIR or Libc.EPERM => error,
            _ => throw new IOException($"cannot remove a file in {directory}: errno {error}"),
        };
    }
}
