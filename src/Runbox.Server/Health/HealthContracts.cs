namespace Runbox.Server.Health;

public sealed record HealthResponse(string Status);

/// <summary>The <c>/readyz</c> body: each dependency and whether it is in order.</summary>
public sealed record ReadinessResponse
{
    public required string Status { get; init; }

    /// <summary>The Runbox build answering (as <c>runbox --version</c> prints it), as in the <c>Runbox-Version</c> header.</summary>
    public required string Version { get; init; }

    public required bool Store { get; init; }

    /// <summary>Null on an API-only node (<c>--no-worker</c>): it runs no job, so its readiness does not depend on one.</summary>
    public required RuntimeReadiness? DefaultRuntime { get; init; }

    /// <summary>Null on an API-only node: it builds no sandbox (no engine, no work root, no cgroups).</summary>
    public required SandboxReadiness? Sandbox { get; init; }

    public required SlotReadiness Slots { get; init; }
}

public sealed record RuntimeReadiness(bool Operational, string? Error, Dictionary<string, string> PreloadFailures);

public sealed record SandboxReadiness(
    bool NetworkNamespace,
    bool MountNamespace,
    bool PidNamespace,
    string? Cgroups,
    bool SeparateUids,
    bool NoNewPrivileges,
    bool Rlimits,
    bool DiskLimit,
    bool SyscallFilter,
    bool FullyIsolated,
    List<string> Warnings);

public sealed record SlotReadiness(int Total, int Free, int EngineFree);
