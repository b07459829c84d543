namespace Runbox.Bench;

/// <summary>
/// CPU time spent so far by this benchmark and everything it starts (engine, zygotes, inits, jobs, cold
/// interpreters), from a cpuacct cgroup of its own; where none can be made, the whole machine's busy time from
/// /proc/stat. On a machine this small what a job costs in CPU decides its latency as soon as anything else runs.
/// </summary>
internal static class MachineCpu
{
    private static readonly string? Usage = TryOwnCgroup();

    public static string Scope => Usage is null ? "machine" : "bench tree";

    public static double BusyMs()
    {
        if (Usage is not null)
        {
            return long.Parse(File.ReadAllText(Usage).Trim()) / 1e6;
        }
        // cpu  user nice system idle iowait irq softirq steal ...: all but idle and iowait are busy; USER_HZ is 100.
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
        return fields.Take(8).Where((_, index) => index is not (3 or 4)).Sum() * 10.0;
    }

    private static string? TryOwnCgroup()
    {
        const string Root = "/sys/fs/cgroup/cpuacct";
        var directory = Path.Combine(Root, $"runbench-{Environment.ProcessId}");
        try
        {
            // Those of earlier runs, with what their engines and killed cluster nodes left in them.
            foreach (var stale in Directory.EnumerateDirectories(Root, "runbench-*"))
            {
                if (int.TryParse(Path.GetFileName(stale)["runbench-".Length..], out var pid) && !Directory.Exists($"/proc/{pid}"))
                {
                    RemoveEmptyTree(stale);
                }
            }
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, "cgroup.procs"), Environment.ProcessId.ToString());
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try
                {
                    File.WriteAllText(Path.Combine(Root, "cgroup.procs"), Environment.ProcessId.ToString());
                    RemoveEmptyTree(directory);
                }
                catch (IOException)
                {
                    // Children still leaving: an empty cgroup left behind is harmless.
                }
            };
            return Path.Combine(directory, "cpuacct.usage");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Removes a cgroup and those below it, deepest first; any still holding a process stays.</summary>
    private static void RemoveEmptyTree(string directory)
    {
        foreach (var child in Directory.EnumerateDirectories(directory))
        {
            RemoveEmptyTree(child);
        }
        try
        {
            Directory.Delete(directory);
        }
        catch (IOException)
        {
        }
    }
}
