namespace Runbox.Execution.Sandbox;

/// <summary>What isolation is in force on this host, detected at start. Reported by <c>/readyz</c>.</summary>
public sealed record SandboxCapabilities
{
    /// <summary>Jobs have a network namespace of their own (no network unless allowed).</summary>
    public bool NetworkNamespace { get; init; }

    /// <summary>Jobs see a root of their own rather than the host's file system.</summary>
    public bool MountNamespace { get; init; }

    /// <summary>Jobs see only their own processes.</summary>
    public bool PidNamespace { get; init; }

    /// <summary>"v1", "v2" or null when no cgroup is used.</summary>
    public string? Cgroups { get; init; }

    /// <summary>Jobs run as their own unprivileged uid (one per slot, in a block no other engine uses) rather than as the server's user. False also when slots share uids: <see cref="Engine.SandboxOptions.UidCount"/> below the slots, or no free block.</summary>
    public bool SeparateUids { get; init; }

    /// <summary>Jobs cannot gain privileges (setuid programs do not elevate).</summary>
    public bool NoNewPrivileges { get; init; }

    /// <summary>
    /// Jobs run under the syscall filter (keyrings, new user namespaces, io_uring, bpf, perf_event_open, userfaultfd,
    /// syslog and other architectures' calls refused; docs/sandbox.md).
    /// </summary>
    public bool SyscallFilter { get; init; }

    /// <summary>Per-process limits (CPU time, file size, open files; address space where no memory cgroup) are set.</summary>
    public bool Rlimits { get; init; } = true;

    /// <summary>Job folders are size-limited tmpfs mounts (the <c>disk</c> limit); without it only the file size limit applies.</summary>
    public bool DiskLimit { get; init; }

    /// <summary>Why each missing feature is missing, one sentence each.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Every feature is in force; when false, <see cref="Warnings"/> says what is missing and why.</summary>
    public bool FullyIsolated => NetworkNamespace && MountNamespace && PidNamespace && Cgroups is not null && SeparateUids && DiskLimit && SyscallFilter;
}
