using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;

namespace Runbox.Execution.Engine;

public sealed record EngineOptions
{
    /// <summary>Where job working directories and the zygotes' control sockets live. Created when missing.</summary>
    public string WorkRoot { get; init; } = Path.Combine(Path.GetTempPath(), "runbox-work");

    /// <summary>Jobs that may run at once; the rest wait for a slot.</summary>
    public int Slots { get; init; } = Math.Max(2, Environment.ProcessorCount * 2);

    /// <summary>Children each zygote keeps forked ahead of demand, so a job starts without waiting for setup.</summary>
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
    public bool Enabled { get; init; } = true;

    public bool NetworkNamespace { get; init; } = true;

    public bool MountNamespace { get; init; } = true;

    public bool PidNamespace { get; init; } = true;

    public bool Cgroups { get; init; } = true;

    /// <summary>When running as root, each slot gets its own uid from this range.</summary>
    public int FirstUid { get; init; } = 64000;

    public int UidCount { get; init; } = 256;
}
