namespace Runbox.Execution.Jobs;

/// <summary>Which limit ended a job, so an out-of-memory kill is named as such rather than guessed.</summary>
public enum LimitKind
{
    /// <summary>No limit ended the job.</summary>
    None,
    /// <summary><see cref="JobLimits.Timeout"/>.</summary>
    WallTime,
    /// <summary><see cref="JobLimits.CpuSeconds"/>.</summary>
    CpuTime,
    /// <summary><see cref="JobLimits.MemoryBytes"/>.</summary>
    Memory,
    /// <summary><see cref="JobLimits.Processes"/>.</summary>
    Processes,
    /// <summary><see cref="JobLimits.OutputBytes"/>.</summary>
    Output,
    /// <summary><see cref="JobLimits.FileSizeBytes"/>.</summary>
    FileSize,
    /// <summary><see cref="JobLimits.DiskBytes"/>.</summary>
    Disk,
}

/// <summary>The words for <see cref="LimitKind"/>.</summary>
public static class LimitKindExtensions
{
    /// <summary>The snake_case word (<c>wall_time</c>, <c>memory</c>, ...; <c>none</c>).</summary>
    public static string ToWire(this LimitKind kind) => kind switch
    {
        LimitKind.WallTime => "wall_time",
        LimitKind.CpuTime => "cpu_time",
        LimitKind.Memory => "memory",
        LimitKind.Processes => "processes",
        LimitKind.Output => "output",
        LimitKind.FileSize => "file_size",
        LimitKind.Disk => "disk",
        _ => "none",
    };

    /// <summary>Reads a word written by <see cref="ToWire"/>; anything else is <see cref="LimitKind.None"/>.</summary>
    public static LimitKind ParseWire(string? text)
    {
        foreach (var candidate in Enum.GetValues<LimitKind>())
        {
            if (candidate.ToWire() == text)
            {
                return candidate;
            }
        }
        return LimitKind.None;
    }
}
