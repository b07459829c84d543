using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;

namespace Runbox.Execution.Engine;

/// <summary>How a <see cref="JobEngine"/> runs jobs: where, how many at once, with which runtimes and default limits.</summary>
public sealed record EngineOptions
{
    /// <summary>Where job working directories and the zygotes' control sockets live. Created when missing. A relative path is taken from the current directory when the engine is made (<see cref="JobEngine.Options"/> holds the full path).</summary>
    public string WorkRoot { get; init; } = Path.Combine(Path.GetTempPath(), "runbox-work");

    /// <summary>The most <see cref="Slots"/> an engine takes: what the server's <c>Runbox:Workers</c> allows.</summary>
    public const int MaxSlots = 1024;

    /// <summary>The largest <see cref="PoolSize"/> an engine takes (the server uses 2 to 8).</summary>
    public const int MaxPoolSize = 64;

    /// <summary>Jobs that may run at once, 1 to <see cref="MaxSlots"/>; the rest wait for a slot.</summary>
    public int Slots { get; init; } = Math.Clamp(Environment.ProcessorCount * 2, 2, MaxSlots);

    /// <summary>
    /// Children each zygote keeps forked ahead of demand, so a job starts without waiting for setup; 0 to
    /// <see cref="MaxPoolSize"/>. It may exceed <see cref="Slots"/> (they are idle processes, not running jobs).
    /// </summary>
    public int PoolSize { get; init; } = 2;

    /// <summary>
    /// Whether each zygote hands its ready children to the engine, which then sends a job straight to one rather than
    /// through the zygote (a process hop fewer on the job's way in). Off: every job goes through the zygote.
    /// </summary>
    public bool OfferInits { get; init; } = true;

    /// <summary>Runtimes by name. When empty, <c>default</c> is the python3 found on PATH.</summary>
    public IReadOnlyList<RuntimeDefinition> Runtimes { get; init; } = [];

    /// <summary>Limits applied where a request leaves one unset.</summary>
    public JobLimits DefaultLimits { get; init; } = new()
    {
        Timeout = TimeSpan.FromSeconds(30),
        CpuSeconds = 30,
        MemoryBytes = 512L * 1024 * 1024,
        Processes = 128,
        OutputBytes = 1024 * 1024,
        FileSizeBytes = 64L * 1024 * 1024,
        OpenFiles = 256,
        DiskBytes = 256L * 1024 * 1024,
    };

    /// <summary>Whether a job that asks for network gets it. The decision is the host's, never the job's alone.</summary>
    public bool AllowNetwork { get; init; }

    /// <summary>Which isolation features to use where the host has them.</summary>
    public SandboxOptions Sandbox { get; init; } = new();

    /// <summary>Interpreter for Node.js jobs; found on PATH when null.</summary>
    public string? NodePath { get; init; }

    /// <summary>Interpreter for Bash jobs.</summary>
    public string BashPath { get; init; } = "/bin/bash";

    /// <summary>After the job's main process exits, how long to keep reading output an orphan may still write.</summary>
    public TimeSpan OutputDrain { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Largest total size of the files copied out of one job as artifacts.</summary>
    public long MaxArtifactBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Most files collected as artifacts from one job.</summary>
    public int MaxArtifactCount { get; init; } = 1000;
}

/// <summary>Which isolation features to use when the host has them. Each is on by default.</summary>
public sealed record SandboxOptions
{
    /// <summary>Off: no namespaces, cgroups, separate uids or disk limit; jobs run as this process's user, with rlimits.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Jobs get a network namespace of their own, with no network (root only).</summary>
    public bool NetworkNamespace { get; init; } = true;

    /// <summary>Jobs see a root of their own: the system read-only, their folder, a fresh /tmp (root only).</summary>
    public bool MountNamespace { get; init; } = true;

    /// <summary>Jobs see only their own processes (root only).</summary>
    public bool PidNamespace { get; init; } = true;

    /// <summary>Each job gets its own cgroup: memory, processes and CPU measured and limited for the whole job.</summary>
    public bool Cgroups { get; init; } = true;

    /// <summary>When running as root, each slot gets its own uid from this range.</summary>
    public int FirstUid { get; init; } = 64000;

    /// <summary>How many uids from <see cref="FirstUid"/> on the engine may use.</summary>
    public int UidCount { get; init; } = 256;
}
