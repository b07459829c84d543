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
        if (options.Slots < 1)
        {
            problems.Add("Slots must be at least 1.");
        }
        if (options.PoolSize < 0)
        {
            problems.Add($"PoolSize must be 0 or more, not {options.PoolSize}.");
        }
        if (string.IsNullOrEmpty(options.WorkRoot))
        {
            problems.Add("WorkRoot is empty.");
        }
        if (options.Runtimes is null || options.Runtimes.Any(r => r is null || string.IsNullOrEmpty(r.Name) || string.IsNullOrEmpty(r.PythonPath)))
        {
            problems.Add("Runtimes is null or holds a runtime without a Name or PythonPath.");
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
}
