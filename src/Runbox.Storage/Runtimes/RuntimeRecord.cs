namespace Runbox.Storage.Runtimes;

/// <summary>
/// A named Python environment as the store keeps it: where its interpreter is, what is installed, what its zygote
/// preloads, and where it is in its lifecycle.
/// </summary>
public sealed record RuntimeRecord
{
    public required string Name { get; init; }

    public RuntimeState State { get; init; } = RuntimeState.Installing;

    /// <summary>The version asked for ("3.12", "3.12.3"), or null for "the newest found".</summary>
    public string? PythonVersionRequested { get; init; }

    /// <summary>The full version of the interpreter chosen ("3.12.1"); empty until resolved.</summary>
    public string PythonVersion { get; init; } = "";

    /// <summary>The interpreter jobs run with: the venv's bin/python, or the base interpreter when there is no venv.</summary>
    public string InterpreterPath { get; init; } = "";

    /// <summary>The base interpreter the venv was made from.</summary>
    public string BaseInterpreterPath { get; init; } = "";

    /// <summary>The virtual environment's folder, or null for a runtime without one (<c>default</c>).</summary>
    public string? VenvPath { get; init; }

    /// <summary>Whether the venv sees the base interpreter's own packages (a system Python's Debian packages).</summary>
    public bool SystemSitePackages { get; init; }

    /// <summary>Packages asked for by users, in the order asked (pip requirement strings).</summary>
    public IReadOnlyList<string> Requirements { get; init; } = [];

    /// <summary>Everything installed in the environment, as the package manager lists it.</summary>
    public IReadOnlyList<InstalledPackage> Packages { get; init; } = [];

    public IReadOnlyList<string> Preload { get; init; } = [];

    /// <summary>Module → why it failed to import in the zygote. The zygote runs without them.</summary>
    public IReadOnlyDictionary<string, string> PreloadErrors { get; init; } = new Dictionary<string, string>();

    /// <summary>The last smoke test's job, kept for inspection when it failed.</summary>
    public string? SmokeTestJobId { get; init; }

    /// <summary>Why the runtime does not work (state failed); null while it works.</summary>
    public string? Error { get; init; }

    /// <summary>
    /// The last package installation (at creation or later): kept when it failed though the runtime works on with
    /// what it had, so the failure stays visible beside a working state.
    /// </summary>
    public InstallAttempt? LastInstall { get; init; }

    /// <summary>While installing: what is being done now (the package tool's latest line).</summary>
    public string? Progress { get; init; }

    /// <summary>
    /// The requirements of the latest install into a copy of the environment, set when it starts: a server stopped
    /// during it names them in the failed <see cref="LastInstall"/> at its next start (the progress line by then is
    /// the installer's).
    /// </summary>
    public IReadOnlyList<string> InstallingPackages { get; init; } = [];

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public bool Equals(RuntimeRecord? other) =>
        other is not null && Name == other.Name && State == other.State && PythonVersionRequested == other.PythonVersionRequested
        && PythonVersion == other.PythonVersion && InterpreterPath == other.InterpreterPath && BaseInterpreterPath == other.BaseInterpreterPath
        && VenvPath == other.VenvPath && SystemSitePackages == other.SystemSitePackages && Progress == other.Progress && Requirements.SequenceEqual(other.Requirements) && InstallingPackages.SequenceEqual(other.InstallingPackages) && Packages.SequenceEqual(other.Packages)
        && Preload.SequenceEqual(other.Preload) && PreloadErrors.Count == other.PreloadErrors.Count
        && PreloadErrors.All(p => other.PreloadErrors.TryGetValue(p.Key, out var v) && v == p.Value)
        && SmokeTestJobId == other.SmokeTestJobId && Error == other.Error && Equals(LastInstall, other.LastInstall) && CreatedAt == other.CreatedAt && UpdatedAt == other.UpdatedAt;

    public override int GetHashCode() => HashCode.Combine(Name, State, UpdatedAt);
}

/// <summary>One run of the package installer on a runtime's environment.</summary>
public sealed record InstallAttempt
{
    /// <summary>The requirements it was asked to install.</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    public bool Succeeded { get; init; }

    /// <summary>When it failed: the installer's lines that say why (pip's "ERROR:" lines), without its warnings.</summary>
    public string? Error { get; init; }

    /// <summary>What the installer printed, stdout and stderr as they came (the end of it when very long).</summary>
    public string Output { get; init; } = "";

    public DateTimeOffset EndedAt { get; init; }

    public bool Equals(InstallAttempt? other) =>
        other is not null && Packages.SequenceEqual(other.Packages) && Succeeded == other.Succeeded && Error == other.Error
        && Output == other.Output && EndedAt == other.EndedAt;

    public override int GetHashCode() => HashCode.Combine(Succeeded, EndedAt);
}

/// <summary>One installed distribution, as <c>pip list --format=json</c> names it.</summary>
public sealed record InstalledPackage(string Name, string Version);

/// <summary><c>installing → ready → operational</c>, or <c>failed</c> at any step.</summary>
public enum RuntimeState
{
    Installing,
    Ready,
    Operational,
    Failed,
}

public static class RuntimeStates
{
    public static string ToWire(this RuntimeState state) => state switch
    {
        RuntimeState.Installing => "installing",
        RuntimeState.Ready => "ready",
        RuntimeState.Operational => "operational",
        _ => "failed",
    };

    public static RuntimeState FromWire(string text) => text switch
    {
        "installing" => RuntimeState.Installing,
        "ready" => RuntimeState.Ready,
        "operational" => RuntimeState.Operational,
        "failed" => RuntimeState.Failed,
        _ => throw new FormatException($"unknown runtime state '{text}'"),
    };
}
