using Runbox.Execution.Jobs;

namespace Runbox.Execution.Engine;

/// <summary>Checks a request before it takes a slot; each rule answers with a sentence naming what is wrong.</summary>
internal static class JobValidation
{
    public const int MaxEnvironmentBytes = 64 * 1024;
    public const int MaxArgumentBytes = 64 * 1024;

    /// <summary>The longest <see cref="JobRequest.Id"/>: it is a folder's name, and a file name holds at most 255 bytes.</summary>
    public const int MaxIdLength = 128;

    /// <summary>The longest wall or CPU time a job may be given: what a .NET timer can wait (about 49 days).</summary>
    public static readonly TimeSpan MaxTime = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>The most processes a pids cgroup takes (the kernel's PID_MAX_LIMIT).</summary>
    public const int MaxProcesses = 4 * 1024 * 1024;

    public static string? Validate(JobRequest request, bool runtimeKnown)
    {
        // Nulls a caller without nullable checks can pass; each would otherwise surface as a NullReferenceException.
        if (MissingMember(request) is { } missing)
        {
            return missing;
        }
        // The id names the job's folder: a path in it would put the folder elsewhere, and remove that after.
        if (request.Id is { Length: > 0 } id && !SafeId(id))
        {
            return $"id '{id.Replace("\0", "\\0")}' must be 1 to {MaxIdLength} letters, digits, '.', '_' or '-', and not '.' or '..'";
        }
        if (!Enum.IsDefined(request.Language))
        {
            return $"unknown language {(int)request.Language} (python, bash or node)";
        }
        if (Limits(request.Limits) is { } limit)
        {
            return limit;
        }
        if (request.Command is { } command)
        {
            if (command.Count == 0 || string.IsNullOrEmpty(command[0]))
            {
                return "command is empty";
            }
            if (command.Any(a => a.Contains('\0')))
            {
                return "command contains NUL";
            }
        }
        else if (request.Script is null && (request.Files is null || request.Files.Count == 0))
        {
            return "give a script or files with an entrypoint";
        }
        if (request.Language == JobLanguage.Python && request.Command is null && !runtimeKnown)
        {
            return $"unknown runtime '{request.Runtime}'";
        }
        if (request.Files is { } files)
        {
            foreach (var name in files.Keys)
            {
                if (JobFiles.ValidateName(name) is { } problem)
                {
                    return problem;
                }
            }
            // Else the second one failed to be written, with a message about a path inside the engine's own folder.
            foreach (var name in files.Keys)
            {
                for (var slash = name.IndexOf('/'); slash > 0; slash = name.IndexOf('/', slash + 1))
                {
                    if (files.ContainsKey(name[..slash]))
                    {
                        return $"file name '{name[..slash]}' is also a folder, of '{name}'";
                    }
                }
            }
            var entry = request.Entrypoint ?? request.Language.DefaultEntrypoint();
            // Script with Files is a script and the files it uses; but the script is written to the entry point, so a
            // file of that name was silently replaced (the REST API refuses script and files together).
            if (request.Script is not null && files.ContainsKey(entry))
            {
                return $"script and files both give '{entry}' (the script is written to the entry point): leave it out of files, or give no script";
            }
            if (request.Script is null && request.Command is null)
            {
                if (!files.ContainsKey(entry))
                {
                    return $"entrypoint '{entry}' is not among the files";
                }
            }
        }
        if (request.Entrypoint is { } entrypoint && JobFiles.ValidateName(entrypoint) is { } bad)
        {
            return "entrypoint: " + bad;
        }
        if (request.Stdin is not null && request.StdinStream is not null)
        {
            return "give stdin as bytes (Stdin) or as a stream (StdinStream), not both";
        }
        if (request.StdinStream is { CanRead: false })
        {
            return "the stdin stream cannot be read (closed, or opened for writing only)";
        }
        if (request.Args.Any(a => a.Contains('\0')))
        {
            return "an argument contains NUL";
        }
        if (request.Args.Sum(a => a.Length) > MaxArgumentBytes)
        {
            return $"arguments exceed {MaxArgumentBytes} bytes";
        }
        long envBytes = 0;
        foreach (var (key, value) in request.Environment)
        {
            if (JobEnvironment.Validate(key, value) is { } problem)
            {
                return problem;
            }
            envBytes += key.Length + value.Length + 2;
        }
        if (envBytes > MaxEnvironmentBytes)
        {
            return $"environment exceeds {MaxEnvironmentBytes} bytes";
        }
        if (request.WorkingDirectory is { } cwd && (!Path.IsPathRooted(cwd) || !Directory.Exists(cwd)))
        {
            return $"working directory '{cwd}' does not exist or is not absolute";
        }
        // Checked here, as the folder is made only once the job has run: an empty name or a NUL there threw out of the
        // engine's job task, and the job never ended and kept its slot.
        if (request.ArtifactDirectory is { } named && (named.Length == 0 || named.Contains('\0')))
        {
            return named.Length == 0 ? "artifact directory is empty; give a folder, or null for none" : "artifact directory contains NUL";
        }
        if (request.ArtifactDirectory is { } artifacts && File.Exists(artifacts))
        {
            return $"artifact directory '{artifacts}' is a file";
        }
        return null;
    }

    /// <summary>What is wrong with the limits (a request's, or an engine's defaults), or null.</summary>
    public static string? Limits(JobLimits limits)
    {
        if (limits.Timeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > MaxTime))
        {
            return $"the timeout must be positive and at most {MaxTime.TotalSeconds:0} seconds, not {timeout}";
        }
        // !(x > 0) also refuses NaN.
        if (limits.CpuSeconds is { } cpu && (!(cpu > 0) || cpu > MaxTime.TotalSeconds))
        {
            return $"the CPU time limit must be a positive number of seconds, at most {MaxTime.TotalSeconds:0}, not {cpu}";
        }
        if (limits.MemoryBytes is <= 0)
        {
            return $"the memory limit must be a positive number of bytes, not {limits.MemoryBytes}";
        }
        if (limits.Processes is { } processes && (processes <= 0 || processes > MaxProcesses))
        {
            return $"the process limit must be between 1 and {MaxProcesses}, not {processes}";
        }
        if (limits.OutputBytes is < 0)
        {
            return $"the output limit must be 0 or more bytes, not {limits.OutputBytes}";
        }
        if (limits.FileSizeBytes is < 0)
        {
            return $"the file size limit must be 0 or more bytes, not {limits.FileSizeBytes}";
        }
        if (limits.OpenFiles is <= 0)
        {
            return $"the open files limit must be a positive number, not {limits.OpenFiles}";
        }
        if (limits.DiskBytes is <= 0)
        {
            return "the disk limit must be a positive number of bytes";
        }
        return null;
    }

    private static bool SafeId(string id) =>
        id.Length <= MaxIdLength && id is not ("." or "..") && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static string? MissingMember(JobRequest request)
    {
        if (string.IsNullOrEmpty(request.Runtime))
        {
            return "runtime is empty";
        }
        if (request.Args is null || request.Args.Any(a => a is null))
        {
            return "args is null or holds a null argument";
        }
        if (request.Command is { } command && command.Any(a => a is null))
        {
            return "command holds a null argument";
        }
        if (request.Environment is null || request.Environment.Values.Any(v => v is null))
        {
            return "environment is null or holds a null value";
        }
        if (request.Limits is null)
        {
            return "limits is null";
        }
        if (request.Files?.FirstOrDefault(f => f.Value is null) is { Key: { } empty })
        {
            return $"file '{empty}' has null content";
        }
        return null;
    }
}
