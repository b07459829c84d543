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

    public List<string>? Preload { get; init; }
}

public sealed record RuntimeResponse
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

    public required IReadOnlyList<PackageResponse> Packages { get; init; }

    public required IReadOnlyList<string> Preload { get; init; }

    public required IReadOnlyDictionary<string, string> PreloadErrors { get; init; }

    public string? SmokeTestJobId { get; init; }

    public string? Error { get; init; }

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
        Packages = runtime.Packages.Select(p => new PackageResponse(p.Name, p.Version)).ToList(),
        Preload = runtime.Preload,
        PreloadErrors = runtime.PreloadErrors,
        SmokeTestJobId = runtime.SmokeTestJobId,
        Error = runtime.Error,
        CreatedAt = runtime.CreatedAt,
        UpdatedAt = runtime.UpdatedAt,
    };
}

public sealed record PackageResponse(string Name, string Version);

public sealed record RuntimeListResponse(IReadOnlyList<RuntimeResponse> Runtimes);
