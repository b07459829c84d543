using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Runbox.Execution.Engine;
using Runbox.Execution.Native;
using Runbox.Execution.Runtimes;

namespace Runbox.Execution.Sandbox;

/// <summary>
/// Which isolation this engine applies, decided once at start from the options and what the host allows, and
/// how that turns into the zygote's configuration and each job's uid.
/// </summary>
internal sealed class SandboxPlan : IDisposable
{
    private readonly ILogger _logger;
    private readonly List<string> _warnings = [];

    private SandboxPlan(ILogger logger)
    {
        _logger = logger;
    }

    public bool IsRoot { get; private init; }

    public bool Namespaces { get; private init; }

    public bool SeparateUids { get; private init; }

    public string RootDirectory { get; private init; } = "";

    /// <summary>The engine's own folder (run/, jobs/, disks/): each job sees a fresh tmpfs there with only its folder.</summary>
    public string FoldersRoot { get; private init; } = "";

    public SandboxOptions Options { get; private init; } = new();

    /// <summary>The slots' cgroups, or null where the host gives none (or the sandbox is off).</summary>
    public Cgroups? Cgroups { get; private set; }

    /// <summary>The slots' size-limited job folders, or null where mounting is not allowed (or the sandbox is off).</summary>
    public SlotDisks? Disks { get; private set; }

    public static SandboxPlan Detect(EngineOptions options, string runDirectory, string disksDirectory, string instance, ILogger logger)
    {
        var isRoot = Libc.GetEffectiveUserId() == 0;
        var sandbox = options.Sandbox;
        var root = Path.Combine(runDirectory, "root");
        Directory.CreateDirectory(root);
        var plan = new SandboxPlan(logger)
        {
            IsRoot = isRoot,
            Options = sandbox,
            Namespaces = sandbox.Enabled && isRoot,
            SeparateUids = sandbox.Enabled && isRoot,
            RootDirectory = root,
            FoldersRoot = Path.GetDirectoryName(Path.GetFullPath(runDirectory))!,
        };
        if (!sandbox.Enabled)
        {
            plan.Warn("the sandbox is disabled by configuration: jobs run as this process's user with rlimits only");
        }
        else if (!isRoot)
        {
            plan.Warn("not running as root: no namespaces and no separate uids; jobs run as this user with rlimits only");
        }
        if (plan.SeparateUids)
        {
            plan._uids = UidBlock.Acquire(sandbox.FirstUid, sandbox.UidCount, options.Slots);
            if (sandbox.UidCount < options.Slots)
            {
                // Slots then take uids round the range (UidFor): two of this engine's own jobs run as one uid at once.
                plan.Warn($"Sandbox.UidCount ({sandbox.UidCount}) is below Slots ({options.Slots}): jobs of different slots run as the same uid at the same time, and as other engines' uids; give UidCount at least Slots");
            }
            else if (plan._uids is null)
            {
                plan.Warn($"no free block of {options.Slots} uids in {sandbox.FirstUid}..{sandbox.FirstUid + sandbox.UidCount - 1}: this engine's jobs share uids with another engine's");
            }
        }
        if (sandbox.Enabled && !sandbox.Cgroups)
        {
            plan.Warn("cgroups are disabled by configuration: limits are per process (rlimits) only");
        }
        else if (sandbox.Enabled)
        {
            var problems = new List<string>();
            plan.Cgroups = Sandbox.Cgroups.Detect(instance.Replace("engine-", "", StringComparison.Ordinal), problems);
            foreach (var problem in problems)
            {
                plan.Warn(problem);
            }
        }
        if (sandbox.Enabled)
        {
            plan.Disks = SlotDisks.TryCreate(disksDirectory, options.Slots, out var diskProblem);
            if (diskProblem is not null)
            {
                plan.Warn(diskProblem);
            }
        }
        return plan;
    }

    private void Warn(string message)
    {
        _warnings.Add(message);
        Log.SandboxDegraded(_logger, message);
    }

    /// <summary>The uid (and gid) a slot's jobs run as, or null to keep the engine's own.</summary>
    public int? UidFor(int slot) => !SeparateUids ? null
        : _uids is { } block ? block.First + slot
        : Options.FirstUid + (slot % Options.UidCount);

    private UidBlock? _uids;

    public void Dispose()
    {
        Disks?.Dispose();
        _uids?.Dispose();
    }

    public string ZygoteConfig(string controlSocket, RuntimeDefinition runtime, EngineOptions options)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("control", controlSocket);
            json.WriteStartArray("preload");
            foreach (var module in runtime.Preload)
            {
                json.WriteStringValue(module);
            }
            json.WriteEndArray();
            json.WriteNumber("pool", options.PoolSize);
            json.WriteBoolean("offer", options.OfferInits);
            json.WriteStartObject("sandbox");
            json.WriteBoolean("namespaces", Namespaces);
            json.WriteBoolean("pid_namespace", Options.PidNamespace);
            json.WriteBoolean("network_namespace", Options.NetworkNamespace);
            json.WriteBoolean("mount_namespace", Options.MountNamespace);
            json.WriteString("root_dir", RootDirectory);
            json.WriteString("folders_root", FoldersRoot);
            json.WriteStartArray("cgroup_parents");
            foreach (var parent in Cgroups?.Parents ?? [])
            {
                json.WriteStringValue(parent);
            }
            json.WriteEndArray();
            // Written by each init into a standby's cgroup ahead of its job; a job writes only its limits that differ.
            CgroupLimit.WriteArray(json, "cgroup_defaults", Cgroups?.Limits(options.DefaultLimits) ?? []);
            json.WriteStartArray("ro_paths");
            foreach (var path in ReadOnlyPaths(options))
            {
                json.WriteStringValue(path);
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Interpreters installed outside the system folders must stay visible inside the job's root.</summary>
    private static IEnumerable<string> ReadOnlyPaths(EngineOptions options)
    {
        var node = options.NodePath ?? InterpreterLocator.FindOnPath("node");
        if (node is not null)
        {
            var real = new FileInfo(node).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? node;
            var prefix = Path.GetDirectoryName(Path.GetDirectoryName(real));
            if (prefix is not null && prefix != "/usr" && prefix != "/")
            {
                yield return prefix;
            }
        }
    }

    /// <summary>What is in force, given what the zygote's probe found ("1" = works, else the reason it failed).</summary>
    public SandboxCapabilities Capabilities(IReadOnlyDictionary<string, string>? namespaces)
    {
        var warnings = new List<string>(_warnings);
        bool Works(string name, bool wanted)
        {
            if (!Namespaces || !wanted)
            {
                return false;
            }
            if (namespaces is null)
            {
                return true; // not probed yet: the first zygote start tells
            }
            var answer = namespaces.GetValueOrDefault(name, "0");
            if (answer == "1")
            {
                return true;
            }
            warnings.Add($"{name} namespace unavailable: {answer.TrimStart('0').Trim()}");
            return false;
        }
        // Not probed yet (null): the first zygote start tells.
        var filter = namespaces?.GetValueOrDefault("seccomp", "0the zygote did not say") ?? "1";
        if (filter != "1")
        {
            warnings.Add($"syscall filter unavailable: {filter.TrimStart('0').Trim()}");
        }
        return new SandboxCapabilities
        {
            NetworkNamespace = Works("network", Options.NetworkNamespace),
            MountNamespace = Works("mount", Options.MountNamespace),
            PidNamespace = Works("pid", Options.PidNamespace),
            Cgroups = Cgroups?.Version,
            // Without a block of its own the slots' uids are shared (with another engine's jobs, or each other's).
            SeparateUids = SeparateUids && _uids is not null,
            NoNewPrivileges = true,
            DiskLimit = Disks is not null,
            SyscallFilter = filter == "1",
            Warnings = warnings,
        };
    }
}
