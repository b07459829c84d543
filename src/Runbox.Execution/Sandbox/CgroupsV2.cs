using System.Text;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Sandbox;

/// <summary>cgroup v2: one unified tree; usable when this process's cgroup offers the memory and pids controllers.</summary>
internal sealed class CgroupsV2 : Cgroups
{
    private readonly string _parent;

    private CgroupsV2(CgroupSlot[] slots, string parent)
        : base(slots)
    {
        _parent = parent;
    }

    public override string Version => "v2";

    protected override IEnumerable<string> Parents => [_parent];

    public static CgroupsV2? TryCreate(string instance, int slots, List<string> problems)
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
            var made = new CgroupSlot[slots];
            for (var i = 0; i < slots; i++)
            {
                made[i] = new V2Slot(Directory.CreateDirectory(Path.Combine(parent, $"slot-{i}")).FullName);
            }
            return new CgroupsV2(made, parent);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"cannot enable cgroup v2 controllers below {own}: {e.Message}");
            foreach (var slot in Directory.Exists(parent) ? Directory.EnumerateDirectories(parent) : [])
            {
                CgroupFiles.TryRemove(slot);
            }
            CgroupFiles.TryRemove(parent);
            return null;
        }
    }

    private sealed class V2Slot : CgroupSlot
    {
        private readonly string _directory;
        private readonly bool _swap;
        private long? _memoryLimit = -2;
        private long _oomKills;
        private long _pidsMaxEvents;
        private long _userUs;
        private long _systemUs;
        private long _usageUs;
        private FileStream? _peak; // memory.peak resets per open file (kernel 6.12+): read back through the same one

        public V2Slot(string directory)
        {
            _directory = directory;
            _swap = System.IO.File.Exists(Path.Combine(directory, "memory.swap.max"));
            ProcsFiles = [Path.Combine(directory, "cgroup.procs")];
        }

        public override IReadOnlyList<string> ProcsFiles { get; }

        public override bool LimitsMemory => true;

        public override bool LimitsProcesses => true;

        protected override IEnumerable<string> Directories => [_directory];

        private string File(string name) => Path.Combine(_directory, name);

        public override void Prepare(JobLimits limits)
        {
            if (_memoryLimit != limits.MemoryBytes)
            {
                CgroupFiles.Write(File("memory.max"), limits.MemoryBytes?.ToString() ?? "max");
                if (_swap)
                {
                    CgroupFiles.Write(File("memory.swap.max"), "0");
                }
                _memoryLimit = limits.MemoryBytes;
            }
            CgroupFiles.Write(File("pids.max"), limits.Processes is { } n ? (n + 1).ToString() : "max");
            _oomKills = CgroupFiles.ReadKey(File("memory.events"), "oom_kill") ?? 0;
            _pidsMaxEvents = CgroupFiles.ReadKey(File("pids.events"), "max") ?? 0;
            _usageUs = CgroupFiles.ReadKey(File("cpu.stat"), "usage_usec") ?? 0;
            _userUs = CgroupFiles.ReadKey(File("cpu.stat"), "user_usec") ?? 0;
            _systemUs = CgroupFiles.ReadKey(File("cpu.stat"), "system_usec") ?? 0;
            _peak?.Dispose();
            _peak = null;
            try
            {
                var peak = new FileStream(File("memory.peak"), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
                peak.Write("reset\n"u8);
                _peak = peak;
            }
            catch (IOException)
            {
                // An older kernel: memory.peak (if any) covers the slot's whole life, so it is read as is.
            }
        }

        public override long? CpuUsageNs() => (CgroupFiles.ReadKey(File("cpu.stat"), "usage_usec") - _usageUs) * 1000;

        public override CgroupUsage Usage()
        {
            long? peak;
            if (_peak is not null)
            {
                _peak.Position = 0;
                var buffer = new byte[64];
                var read = _peak.Read(buffer);
                peak = long.TryParse(Encoding.ASCII.GetString(buffer, 0, read).Trim(), out var value) ? value : null;
                _peak.Dispose();
                _peak = null;
            }
            else
            {
                peak = CgroupFiles.ReadNumber(File("memory.peak"));
            }
            return new CgroupUsage(
                peak,
                (CgroupFiles.ReadKey(File("cpu.stat"), "user_usec") - _userUs) * 1000,
                (CgroupFiles.ReadKey(File("cpu.stat"), "system_usec") - _systemUs) * 1000,
                CgroupFiles.ReadKey(File("memory.events"), "oom_kill") > _oomKills,
                CgroupFiles.ReadKey(File("pids.events"), "max") > _pidsMaxEvents);
        }

        protected override void KillAll()
        {
            if (CgroupFiles.TryWrite(File("cgroup.kill"), "1"))
            {
                return;
            }
            var frozen = CgroupFiles.TryWrite(File("cgroup.freeze"), "1");
            try
            {
                KillListed(_directory);
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
