using System.Text.RegularExpressions;
using Runbox.Storage.Runtimes;

namespace Runbox.Server.Runtimes;

/// <summary>The body of <c>POST /api/v1/runtimes</c>.</summary>
public sealed record RuntimeCreateRequest
{
    public string? Name { get; init; }

    /// <summary>"3.12" (newest 3.12.x found) or "3.12.3"; the newest Python found when absent.</summary>
    public string? PythonVersion { get; init; }

    /// <summary>pip requirements to install into the new environment.</summary>
    public List<string>? Packages { get; init; }

    /// <summary>Modules the runtime's zygote imports once, before forking jobs.</summary>
    public List<string>? Preload { get; init; }

    /// <summary>Let the environment see the base interpreter's own packages (Debian's python3-numpy, say).</summary>
    public bool? SystemSitePackages { get; init; }
}

/// <summary>The body of <c>POST /api/v1/runtimes/{name}/packages</c>.</summary>
public sealed record RuntimeInstallRequest
{
    public List<string>? Packages { get; init; }

    /// <summary>Modules to add to the runtime's preloads.</summary>
    public List<string>? Preload { get; init; }

    /// <summary>
    /// Modules to take out of its preloads: the way back from one that broke the zygote. Left out of the body when null,
    /// so a CLI that does not remove any still talks to a server from before this field (which refuses unknown fields).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public List<string>? RemovePreload { get; init; }
}

public sealed partial record RuntimeResponse
{
    public required string Name { get; init; }

    /// <summary>installing, ready, operational or failed.</summary>
    public required string State { get; init; }

    public string? Progress { get; init; }

    public string? PythonVersionRequested { get; init; }

    public required string PythonVersion { get; init; }

    public required string InterpreterPath { get; init; }

    public string? VenvPath { get; init; }

    public bool SystemSitePackages { get; init; }

    public required IReadOnlyList<string> Requirements { get; init; }

    /// <summary>What is installed, without the installer's own tools (pip, setuptools, wheel) unless asked for.</summary>
    public required IReadOnlyList<PackageResponse> Packages { get; init; }

    public required IReadOnlyList<string> Preload { get; init; }

    public required IReadOnlyDictionary<string, string> PreloadErrors { get; init; }

    public string? SmokeTestJobId { get; init; }

    /// <summary>Why the runtime does not work (state failed); null while it works.</summary>
    public string? Error { get; init; }

    /// <summary>The last package installation; one that failed on a working runtime left it working with what it had.</summary>
    public InstallResponse? LastInstall { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public static RuntimeResponse From(RuntimeRecord runtime) => new()
    {
        Name = runtime.Name,
        State = runtime.State.ToWire(),
        Progress = runtime.Progress,
        PythonVersionRequested = runtime.PythonVersionRequested,
        PythonVersion = runtime.PythonVersion,
        InterpreterPath = runtime.InterpreterPath,
        VenvPath = runtime.VenvPath,
        SystemSitePackages = runtime.SystemSitePackages,
        Requirements = runtime.Requirements,
        Packages = runtime.Packages.Where(p => !IsInstallerTool(p.Name) || runtime.Requirements.Any(r => RequirementName(r) == Normalized(p.Name)))
            .Select(p => new PackageResponse(p.Name, p.Version)).ToList(),
        Preload = runtime.Preload,
        PreloadErrors = runtime.PreloadErrors,
        SmokeTestJobId = runtime.SmokeTestJobId,
        Error = runtime.Error,
        LastInstall = runtime.LastInstall is { } last ? new InstallResponse(last.Packages, last.Succeeded, last.Error, last.Output, last.EndedAt) : null,
        CreatedAt = runtime.CreatedAt,
        UpdatedAt = runtime.UpdatedAt,
    };

    /// <summary>What a virtual environment gets to install with, not what a user installs: left out of <c>packages</c>.</summary>
    private static bool IsInstallerTool(string name) => Normalized(name) is "pip" or "setuptools" or "wheel";

    /// <summary>The distribution a requirement names ("NumPy>=2" → "numpy"), normalized as PEP 503 does.</summary>
    private static string RequirementName(string requirement) => Normalized(DistributionName().Match(requirement).Value);

    private static string Normalized(string name) => Separators().Replace(name, "-").ToLowerInvariant();

    [GeneratedRegex(@"^\s*[A-Za-z0-9][A-Za-z0-9._-]*")]
    private static partial Regex DistributionName();

    [GeneratedRegex(@"[-_.]+")]
    private static partial Regex Separators();
}

public sealed record PackageResponse(string Name, string Version);

/// <summary>One package installation: what was asked, whether it worked, the installer's error lines and whole output.</summary>
public sealed record InstallResponse(IReadOnlyList<string> Packages, bool Succeeded, string? Error, string Output, DateTimeOffset EndedAt);

public sealed record RuntimeListResponse(IReadOnlyList<RuntimeResponse> Runtimes);
