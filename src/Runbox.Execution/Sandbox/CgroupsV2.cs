using Runbox.Execution.Jobs;

namespace Runbox.Execution.Sandbox;

/// <summary>cgroup v2: one unified tree; usable when this process's cgroup offers the memory and pids controllers.</summary>
internal sealed class CgroupsV2 : Cgroups
{
    private readonly string _parent;
    private readonly bool _swap;

    private CgroupsV2(string parent)
    {
        _parent = parent;
        _swap = System.IO.File.Exists(Path.Combine(parent, "memory.swap.max"));
    }

    public override string Version => "v2";

    public override IReadOnlyList<string> Parents => [_parent];

    public override bool LimitsMemory => true;

    public override bool LimitsProcesses => true;

    public override IReadOnlyList<CgroupLimit> Limits(JobLimits limits)
    {
        var writes = new List<CgroupLimit>();
        if (limits.MemoryBytes is { } memory)
        {
            writes.Add(new CgroupLimit(0, "memory.max", memory.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            if (_swap)
            {
                writes.Add(new CgroupLimit(0, "memory.swap.max", "0"));
            }
        }
        if (limits.Processes is { } processes)
        {
            writes.Add(new CgroupLimit(0, "pids.max", processes.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return writes;
    }

    public override JobCgroup Open(string name) => new V2Job(Path.Combine(_parent, name));

    public static CgroupsV2? TryCreate(string instance, List<string> problems)
    {
        var own = CgroupFiles.OwnDirectory(controller: null);
        if (own is null)
        {
            problems.Add("no cgroup v2 hierarchy is mounted");
            return null;
        }
        var available = (CgroupFiles.TryRead(Path.Combine(own, "cgroup.controllers")) ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (!available.Contains("memory") || !available.Contains("pids"))
        {
            problems.Add($"cgroup v2 at {own} offers no memory and pids controllers (they are bound to v1 or not delegated)");
            return null;
        }
        var enable = string.Join(' ', new[] { "memory", "pids", "cpu" }.Where(available.Contains).Select(c => "+" + c));
        RemoveLeftovers(own);
        var parent = Path.Combine(own, Prefix + instance);
        try
        {
            // Fails (EBUSY) when this process's own cgroup is not the root and holds processes: v2 allows
            // controllers only on cgroups without processes of their own.
            CgroupFiles.Write(Path.Combine(own, "cgroup.subtree_control"), enable);
            Directory.CreateDirectory(parent);
            CgroupFiles.Write(Path.Combine(parent, "cgroup.subtree_control"), enable);
            return new CgroupsV2(parent);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"cannot enable cgroup v2 controllers below {own}: {e.Message}");
            CgroupFiles.TryRemove(parent);
            return null;
        }
    }

    private sealed class V2Job(string directory) : JobCgroup
    {
        protected override IEnumerable<string> Directories => [directory];

        protected override string? PidsDirectory => directory; // v2 is usable only with the pids controller

        private string File(string name) => Path.Combine(directory, name);

        public override long? CpuUsageNs() => CgroupFiles.ReadKey(File("cpu.stat"), "usage_usec") * 1000;

        public override CgroupUsage Usage() => new(
            CgroupFiles.ReadNumber(File("memory.peak")),
            CgroupFiles.ReadKey(File("cpu.stat"), "user_usec") * 1000,
            CgroupFiles.ReadKey(File("cpu.stat"), "system_usec") * 1000,
            CgroupFiles.ReadKey(File("memory.events"), "oom_kill") > 0,
            CgroupFiles.ReadKey(File("pids.events"), "max") > 0);

        protected override void KillAll()
        {
            if (CgroupFiles.TryWrite(File("cgroup.kill"), "1"))
            {
                return;
            }
            var frozen = CgroupFiles.TryWrite(File("cgroup.freeze"), "1");
            try
            {
                KillListed(directory);
            }
            finally
            {
                if (frozen)
                {
                    CgroupFiles.TryWrite(File("cgroup.freeze"), "0");
                }
            }
        }
    }
}
