namespace Runbox.Execution.Jobs;

/// <summary>Which limit ended a job, so an out-of-memory kill is named as such rather than guessed.</summary>
public enum LimitKind
{
    None,
    WallTime,
    CpuTime,
    Memory,
    Processes,
    Output,
    FileSize,
    Disk,
}

public static class LimitKindExtensions
{
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
