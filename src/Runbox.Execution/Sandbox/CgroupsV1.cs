using Runbox.Execution.Jobs;

namespace Runbox.Execution.Sandbox;

/// <summary>cgroup v1: one hierarchy per controller (memory, pids, cpuacct, freezer), each holding the slots.</summary>
internal sealed class CgroupsV1 : Cgroups
{
    private static readonly string[] Controllers = ["memory", "pids", "cpuacct", "freezer"];

    private readonly List<string> _parents;

    private CgroupsV1(CgroupSlot[] slots, List<string> parents)
        : base(slots)
    {
        _parents = parents;
    }

    public override string Version => "v1";

    protected override IEnumerable<string> Parents => _parents;

    public static CgroupsV1? TryCreate(string instance, int slots, List<string> problems)
    {
        var parents = new Dictionary<string, string>();
        foreach (var controller in Controllers)
        {
            var own = CgroupFiles.OwnDirectory(controller);
            if (own is null)
            {
                problems.Add($"cgroup v1 controller '{controller}' is not mounted: {Consequence(controller)}");
                continue;
            }
            RemoveLeftovers(own);
            var parent = Path.Combine(own, Prefix + instance);
            try
            {
                Directory.CreateDirectory(parent);
                parents[controller] = parent;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"cannot create a cgroup in {own} ({e.Message}): {Consequence(controller)}");
            }
        }
        if (!parents.ContainsKey("memory") && !parents.ContainsKey("pids"))
        {
            foreach (var parent in parents.Values)
            {
                CgroupFiles.TryRemove(parent);
            }
            return null;
        }
        var made = new CgroupSlot[slots];
        for (var i = 0; i < slots; i++)
        {
            var directories = parents.ToDictionary(p => p.Key, p => Directory.CreateDirectory(Path.Combine(p.Value, $"slot-{i}")).FullName);
            made[i] = new V1Slot(directories);
        }
        return new CgroupsV1(made, [.. parents.Values]);
    }

    private static string Consequence(string controller) => controller switch
    {
        "memory" => "memory is limited by address space only and not measured per job",
        "pids" => "processes are limited per uid only (RLIMIT_NPROC)",
        "cpuacct" => "CPU time is limited per process only (RLIMIT_CPU)",
        _ => "processes are killed without freezing the group first",
    };

    private sealed class V1Slot : CgroupSlot
    {
        private readonly string? _memory;
        private readonly string? _pids;
        private readonly string? _cpu;
        private readonly string? _freezer;
        private readonly bool _swapAccounting;
        private long? _memoryLimit = -2; // what memory.limit_in_bytes holds: only rewritten when a job asks for another
        private long _oomKills;
        private long _pidsMaxEvents;

        public V1Slot(Dictionary<string, string> directories)
        {
            _memory = directories.GetValueOrDefault("memory");
            _pids = directories.GetValueOrDefault("pids");
            _cpu = directories.GetValueOrDefault("cpuacct");
            _freezer = directories.GetValueOrDefault("freezer");
            _swapAccounting = _memory is not null && File.Exists(Path.Combine(_memory, "memory.memsw.limit_in_bytes"));
            ProcsFiles = Directories.Select(d => Path.Combine(d, "cgroup.procs")).ToList();
        }

        public override IReadOnlyList<string> ProcsFiles { get; }

        public override bool LimitsMemory => _memory is not null;

        public override bool LimitsProcesses => _pids is not null;

        protected override IEnumerable<string> Directories => new[] { _memory, _pids, _cpu, _freezer }.OfType<string>();

        public override void Prepare(JobLimits limits)
        {
            if (_memory is not null)
            {
                if (_memoryLimit != limits.MemoryBytes)
                {
                    // memsw must stay >= the memory limit at every step: lift it, set the limit, then match it (no swap).
                    var value = limits.MemoryBytes?.ToString() ?? "-1";
                    if (_swapAccounting)
                    {
                        CgroupFiles.Write(Path.Combine(_memory, "memory.memsw.limit_in_bytes"), "-1");
                    }
                    CgroupFiles.Write(Path.Combine(_memory, "memory.limit_in_bytes"), value);
                    if (_swapAccounting)
                    {
                        CgroupFiles.Write(Path.Combine(_memory, "memory.memsw.limit_in_bytes"), value);
                    }
                    _memoryLimit = limits.MemoryBytes;
                }
                CgroupFiles.Write(Path.Combine(_memory, "memory.max_usage_in_bytes"), "0");
                CgroupFiles.TryWrite(Path.Combine(_memory, "memory.failcnt"), "0");
                _oomKills = CgroupFiles.ReadKey(Path.Combine(_memory, "memory.oom_control"), "oom_kill") ?? 0;
            }
            if (_pids is not null)
            {
                // The init that joins first counts as one process of the cgroup.
                CgroupFiles.Write(Path.Combine(_pids, "pids.max"), limits.Processes is { } n ? (n + 1).ToString() : "max");
                _pidsMaxEvents = CgroupFiles.ReadKey(Path.Combine(_pids, "pids.events"), "max") ?? 0;
            }
            if (_cpu is not null)
            {
                CgroupFiles.Write(Path.Combine(_cpu, "cpuacct.usage"), "0");
            }
        }

        public override long? CpuUsageNs() => _cpu is null ? null : CgroupFiles.ReadNumber(Path.Combine(_cpu, "cpuacct.usage"));

        public override CgroupUsage Usage()
        {
            long? peak = null, user = null, system = null;
            var oom = false;
            var pidsHit = false;
            if (_memory is not null)
            {
                peak = CgroupFiles.ReadNumber(Path.Combine(_memory, "memory.max_usage_in_bytes"));
                oom = CgroupFiles.ReadKey(Path.Combine(_memory, "memory.oom_control"), "oom_kill") > _oomKills;
            }
            if (_pids is not null)
            {
                pidsHit = CgroupFiles.ReadKey(Path.Combine(_pids, "pids.events"), "max") > _pidsMaxEvents;
            }
            if (_cpu is not null)
            {
                user = CgroupFiles.ReadNumber(Path.Combine(_cpu, "cpuacct.usage_user"));
                system = CgroupFiles.ReadNumber(Path.Combine(_cpu, "cpuacct.usage_sys"));
            }
            return new CgroupUsage(peak, user, system, oom, pidsHit);
        }

        protected override void KillAll()
        {
            // Frozen, a fork bomb cannot fork between listing its pids and killing them.
            var frozen = _freezer is not null && CgroupFiles.TryWrite(Path.Combine(_freezer, "freezer.state"), "FROZEN");
            try
            {
                foreach (var directory in Directories)
                {
                    KillListed(directory);
                }
            }
            finally
            {
                if (frozen)
                {
                    CgroupFiles.TryWrite(Path.Combine(_freezer!, "freezer.state"), "THAWED");
                }
            }
        }
    }
}
