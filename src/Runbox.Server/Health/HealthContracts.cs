namespace Runbox.Server.Health;

public sealed record HealthResponse(string Status);

/// <summary>The <c>/readyz</c> body: each dependency and whether it is in order.</summary>
public sealed record ReadinessResponse
{
    public required string Status { get; init; }

    public required bool Store { get; init; }

    public required RuntimeReadiness DefaultRuntime { get; init; }

    public required SandboxReadiness Sandbox { get; init; }

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
