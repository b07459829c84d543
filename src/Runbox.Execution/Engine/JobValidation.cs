using Runbox.Execution.Jobs;

namespace Runbox.Execution.Engine;

/// <summary>Checks a request before it takes a slot; each rule answers with a sentence naming what is wrong.</summary>
internal static class JobValidation
{
    public const int MaxEnvironmentBytes = 64 * 1024;
    public const int MaxArgumentBytes = 64 * 1024;

    public static string? Validate(JobRequest request, bool runtimeKnown)
    {
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
            if (request.Script is null && request.Command is null)
            {
                var entry = request.Entrypoint ?? request.Language.DefaultEntrypoint();
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
        if (request.Limits.DiskBytes is <= 0)
        {
            return "the disk limit must be a positive number of bytes";
        }
        if (request.WorkingDirectory is { } cwd && (!Path.IsPathRooted(cwd) || !Directory.Exists(cwd)))
        {
            return $"working directory '{cwd}' does not exist or is not absolute";
        }
        return null;
    }
}
