using Runbox.Execution.Jobs;

namespace Runbox.Execution.Sandbox;

/// <summary>
/// cgroup v1: one hierarchy per controller (memory, pids, cpuacct, and freezer where there is no pids controller),
/// each holding the slots.
/// </summary>
internal sealed class CgroupsV1 : Cgroups
{
    private static readonly string[] Controllers = ["memory", "pids", "cpuacct", "freezer"];

    private readonly Dictionary<string, string> _parents;
    private readonly List<string> _order;
    private readonly bool _swapAccounting;
    private readonly bool _tcpAccounting;

    private CgroupsV1(Dictionary<string, string> parents)
    {
        _parents = parents;
        _order = Controllers.Where(parents.ContainsKey).ToList();
        _swapAccounting = parents.TryGetValue("memory", out var memory) && File.Exists(Path.Combine(memory, "memory.memsw.limit_in_bytes"));
        _tcpAccounting = memory is not null && File.Exists(Path.Combine(memory, "memory.kmem.tcp.limit_in_bytes"));
    }

    public override string Version => "v1";

    public override IReadOnlyList<string> Parents => _order.Select(c => _parents[c]).ToList();

    public override bool LimitsMemory => _parents.ContainsKey("memory");

    public override bool LimitsProcesses => _parents.ContainsKey("pids");

    public static CgroupsV1? TryCreate(string instance, List<string> problems)
    {
        var parents = new Dictionary<string, string>();
        foreach (var controller in Controllers)
        {
            var own = CgroupFiles.OwnDirectory(controller);
            if (own is null)
            {
                if (controller != "freezer" || !parents.ContainsKey("pids"))
                {
                    problems.Add($"cgroup v1 controller '{controller}' is not mounted: {Consequence(controller)}");
                }
                continue;
            }
            RemoveLeftovers(own);
            if (controller == "freezer" && parents.ContainsKey("pids"))
            {
                // Not needed: a pids.max of 0 stops a group forking as well while it is killed (KillAll), and each
                // hierarchy costs every job a cgroup made, renamed and removed (about 0.05 ms of CPU each, and more
                // in the kernel's workers).
                continue;
            }
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
        return new CgroupsV1(parents);
    }

    private static string Consequence(string controller) => controller switch
    {
        "memory" => "memory is limited by address space only and not measured per job",
        "pids" => "processes are limited per uid only (RLIMIT_NPROC)",
        "cpuacct" => "CPU time is limited per process only (RLIMIT_CPU)",
        _ => "processes are killed without freezing the group first (and with no pids controller, while they may fork)",
    };

    public override IReadOnlyList<CgroupLimit> Limits(JobLimits limits)
    {
        var writes = new List<CgroupLimit>();
        if (limits.MemoryBytes is { } memory && _order.IndexOf("memory") is var m and >= 0)
        {
            // A fresh cgroup has no limits: set memory, then memory+swap to the same, so no swap is used.
            writes.Add(new CgroupLimit(m, "memory.limit_in_bytes", memory.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            if (_swapAccounting)
            {
                writes.Add(new CgroupLimit(m, "memory.memsw.limit_in_bytes", memory.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
            if (_tcpAccounting)
            {
                // v1 counts socket buffers (TCP and UDP alike) apart from memory.usage_in_bytes, and only in a cgroup given
                // this limit: without it a job of 64 MB held 426 MB of the host's memory in loopback connections and 317 MB
                // in UDP queues, and could take the kernel's global tcp_mem / udp_mem, which the host's own sockets need.
                // (v2 counts them in memory.current.)
                writes.Add(new CgroupLimit(m, "memory.kmem.tcp.limit_in_bytes", memory.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
        }
        if (limits.Processes is { } processes && _order.IndexOf("pids") is var p and >= 0)
        {
            writes.Add(new CgroupLimit(p, "pids.max", processes.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return writes;
    }

    public override JobCgroup Open(string name) =>
        new V1Job(_parents.ToDictionary(p => p.Key, p => Path.Combine(p.Value, name)));

    private sealed class V1Job(Dictionary<string, string> directories) : JobCgroup
    {
        private readonly string? _memory = directories.GetValueOrDefault("memory");
        private readonly string? _pids = directories.GetValueOrDefault("pids");
        private readonly string? _cpu = directories.GetValueOrDefault("cpuacct");
        private readonly string? _freezer = directories.GetValueOrDefault("freezer");

        protected override IEnumerable<string> Directories => new[] { _memory, _pids, _cpu, _freezer }.OfType<string>();

        protected override string? PidsDirectory => _pids;

        public override long? CpuUsageNs() => _cpu is null ? null : CgroupFiles.ReadNumber(Path.Combine(_cpu, "cpuacct.usage"));

        public override CgroupUsage Usage()
        {
            long? peak = null, user = null, system = null;
            var oom = false;
            var pidsHit = false;
            if (_memory is not null)
            {
                peak = CgroupFiles.ReadNumber(Path.Combine(_memory, "memory.max_usage_in_bytes"));
                oom = CgroupFiles.ReadKey(Path.Combine(_memory, "memory.oom_control"), "oom_kill") > 0;
            }
            if (_pids is not null)
            {
                pidsHit = CgroupFiles.ReadKey(Path.Combine(_pids, "pids.events"), "max") > 0;
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
            // Frozen, or with no process allowed, a fork bomb cannot fork between listing its pids and killing them.
            var frozen = _freezer is not null && CgroupFiles.TryWrite(Path.Combine(_freezer, "freezer.state"), "FROZEN");
            if (!frozen && _pids is not null)
            {
                CgroupFiles.TryWrite(Path.Combine(_pids, "pids.max"), "0");
            }
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
