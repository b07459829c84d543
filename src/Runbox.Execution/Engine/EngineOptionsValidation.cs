using Runbox.Execution.Runtimes;

namespace Runbox.Execution.Engine;

/// <summary>
/// Checks <see cref="EngineOptions"/> before an engine starts, every problem at once: a wrong option otherwise surfaces
/// only at the first job, as a zygote that exits or a message about something else (a division by zero).
/// </summary>
internal static class EngineOptionsValidation
{
    public static List<string> Problems(EngineOptions options)
    {
        var problems = new List<string>();
        // Upper bounds too: the constructor fills a queue with one entry per slot (100 million hung it), and each
        // zygote forks PoolSize children at once (a hundred thousand stall the machine).
        if (options.Slots is < 1 or > EngineOptions.MaxSlots)
        {
            problems.Add($"Slots must be between 1 and {EngineOptions.MaxSlots}, not {options.Slots}.");
        }
        if (options.PoolSize is < 0 or > EngineOptions.MaxPoolSize)
        {
            problems.Add($"PoolSize must be between 0 and {EngineOptions.MaxPoolSize}, not {options.PoolSize}.");
        }
        if (string.IsNullOrEmpty(options.WorkRoot))
        {
            problems.Add("WorkRoot is empty.");
        }
        else if (options.WorkRoot.Contains('\0'))
        {
            // Else Path.GetFullPath threw "Null character in path. (Parameter 'path')", naming no option.
            problems.Add("WorkRoot contains NUL.");
        }
        if (options.Runtimes is null || options.Runtimes.Any(r => r is null || string.IsNullOrEmpty(r.Name) || string.IsNullOrEmpty(r.PythonPath)))
        {
            problems.Add("Runtimes is null or holds a runtime without a Name or PythonPath.");
        }
        else
        {
            problems.AddRange(options.Runtimes.Select(RuntimeProblem).OfType<string>().Select(p => $"Runtimes: {p}."));
        }
        if (options.DefaultLimits is null)
        {
            problems.Add("DefaultLimits is null.");
        }
        else if (JobValidation.Limits(options.DefaultLimits) is { } limits)
        {
            problems.Add($"DefaultLimits: {limits}.");
        }
        if (options.Sandbox is null)
        {
            problems.Add("Sandbox is null.");
        }
        else
        {
            // uid 0 is root: a job given it would run as root, namespaces or not.
            if (options.Sandbox.FirstUid < 1)
            {
                problems.Add($"Sandbox.FirstUid must be at least 1, not {options.Sandbox.FirstUid}.");
            }
            if (options.Sandbox.UidCount < 1 || (long)options.Sandbox.FirstUid + options.Sandbox.UidCount > int.MaxValue)
            {
                problems.Add($"Sandbox.UidCount must be at least 1 and end below {int.MaxValue}, not {options.Sandbox.UidCount}.");
            }
        }
        if (options.NodePath is { } node && JobInterpreters.Unusable(node) is { } unusable)
        {
            problems.Add($"NodePath '{node}' {unusable}.");
        }
        if (string.IsNullOrEmpty(options.BashPath))
        {
            problems.Add("BashPath is empty.");
        }
        if (options.OutputDrain < TimeSpan.Zero || options.OutputDrain > JobValidation.MaxTime)
        {
            problems.Add($"OutputDrain must be between 0 and {JobValidation.MaxTime.TotalSeconds:0} seconds, not {options.OutputDrain}.");
        }
        if (options.MaxArtifactBytes < 0)
        {
            problems.Add($"MaxArtifactBytes must be 0 or more, not {options.MaxArtifactBytes}.");
        }
        if (options.MaxArtifactCount < 0)
        {
            problems.Add($"MaxArtifactCount must be 0 or more, not {options.MaxArtifactCount}.");
        }
        return problems;
    }

    /// <summary>
    /// What is wrong with a runtime's preloads or environment, or null. Without this check a null list failed every job
    /// of the runtime with "Object reference not set to an instance of an object", and a bad variable name failed each
    /// job as it started.
    /// </summary>
    public static string? RuntimeProblem(RuntimeDefinition runtime)
    {
        if (runtime.Preload is null || runtime.Preload.Any(m => m is null))
        {
            return $"runtime '{runtime.Name}' has a null Preload or a null module name in it";
        }
        if (runtime.Environment is null)
        {
            return $"runtime '{runtime.Name}' has a null Environment";
        }
        foreach (var (key, value) in runtime.Environment)
        {
            if (value is null)
            {
                return $"runtime '{runtime.Name}': environment variable '{key}' is null";
            }
            if (JobEnvironment.Validate(key, value) is { } problem)
            {
                return $"runtime '{runtime.Name}': {problem}";
            }
        }
        return null;
    }
}
