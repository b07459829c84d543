namespace Runbox.Execution.Sandbox;

/// <summary>Reading and writing cgroup control files, and finding where this process's cgroups are mounted.</summary>
internal static class CgroupFiles
{
    /// <summary>Writes a control file without creating or truncating it (cgroupfs takes one write per value).</summary>
    public static void Write(string path, string value)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1, FileOptions.None);
        var bytes = System.Text.Encoding.ASCII.GetBytes(value);
        stream.Write(bytes);
    }

    public static bool TryWrite(string path, string value)
    {
        try
        {
            Write(path, value);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static long? ReadNumber(string path) => long.TryParse(TryRead(path)?.Trim(), out var value) ? value : null;

    /// <summary>One "key value" line of a flat-keyed file such as memory.events, pids.events or cpu.stat.</summary>
    public static long? ReadKey(string path, string key)
    {
        var text = TryRead(path);
        if (text is null)
        {
            return null;
        }
        foreach (var line in text.Split('\n'))
        {
            var space = line.IndexOf(' ');
            if (space > 0 && line.AsSpan(0, space).SequenceEqual(key) && long.TryParse(line.AsSpan(space + 1), out var value))
            {
                return value;
            }
        }
        return null;
    }

    public static IReadOnlyList<int> Processes(string directory)
    {
        var text = TryRead(Path.Combine(directory, "cgroup.procs"));
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
    }

    /// <summary>Where this process's own cgroup is for a v1 controller ("memory") or for v2 (null): the mount
    /// point joined with the path from /proc/self/cgroup, relative to the mount's root.</summary>
    public static string? OwnDirectory(string? controller)
    {
        string? own = null;
        foreach (var line in SafeLines("/proc/self/cgroup"))
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }
            if (controller is null ? parts[0] == "0" && parts[1] == "" : parts[1].Split(',').Contains(controller))
            {
                own = parts[2];
            }
        }
        if (own is null)
        {
            return null;
        }
        foreach (var line in SafeLines("/proc/self/mountinfo"))
        {
            // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
            var separator = line.IndexOf(" - ", StringComparison.Ordinal);
            if (separator < 0)
            {
                continue;
            }
            var fields = line[..separator].Split(' ');
            var tail = line[(separator + 3)..].Split(' ');
            if (fields.Length < 5 || tail.Length < 3)
            {
                continue;
            }
            var matches = controller is null
                ? tail[0] == "cgroup2"
                : tail[0] == "cgroup" && tail[2].Split(',').Contains(controller);
            if (!matches)
            {
                continue;
            }
            var root = fields[3];
            var relative = root == "/" ? own : own.StartsWith(root, StringComparison.Ordinal) ? own[root.Length..] : null;
            if (relative is null)
            {
                continue;
            }
            return fields[4] + (relative == "/" ? "" : relative);
        }
        return null;
    }

    private static string[] SafeLines(string path) => TryRead(path)?.Split('\n', StringSplitOptions.RemoveEmptyEntries) ?? [];

    /// <summary>Removes a cgroup directory (its control files go with it); false while a process is still inside.</summary>
    public static bool TryRemove(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory);
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
