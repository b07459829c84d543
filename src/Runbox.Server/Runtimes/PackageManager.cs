using System.Text.Json;
using Microsoft.Extensions.Options;
using Runbox.Execution.Runtimes;
using Runbox.Server.Configuration;
using Runbox.Storage.Runtimes;

namespace Runbox.Server.Runtimes;

/// <summary>
/// Builds environments with <c>uv</c> when it is on PATH (<c>uv venv</c>, <c>uv pip install</c>), else with the
/// interpreter's own <c>venv</c> and <c>pip</c>. Index, wheel folder and offline mode come from configuration.
/// </summary>
public sealed class PackageManager(IOptions<RunboxOptions> options)
{
    private static readonly TimeSpan VenvTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(30);

    private PackageOptions Packages => options.Value.Packages;

    /// <summary>The uv binary, or null to use venv and pip.</summary>
    public string? Uv { get; } = InterpreterLocator.FindOnPath("uv");

    public static string VenvPython(string venv) => Path.Combine(venv, "bin", "python");

    public async Task<ToolOutput> CreateVenvAsync(string baseInterpreter, string venv, bool systemSitePackages, CancellationToken cancellationToken)
    {
        List<string> args = Uv is not null ? ["venv", "--python", baseInterpreter, "--seed"] : ["-m", "venv"];
        if (systemSitePackages)
        {
            args.Add("--system-site-packages");
        }
        args.Add(venv);
        return await ToolProcess.RunAsync(Uv ?? baseInterpreter, args, VenvTimeout, ToolEnvironment(venv), cancellationToken: cancellationToken);
    }

    public async Task<ToolOutput> InstallAsync(string python, IReadOnlyList<string> requirements, Action<string>? onLine, CancellationToken cancellationToken)
    {
        List<string> args = Uv is not null ? ["pip", "install", "--python", python] : ["-m", "pip", "install", "--no-input"];
        if (Packages.Offline)
        {
            args.Add(Uv is not null ? "--offline" : "--no-index");
            if (Uv is not null)
            {
                args.Add("--no-index");
            }
        }
        else if (Packages.IndexUrl is { Length: > 0 } index)
        {
            args.AddRange(["--index-url", index]);
        }
        if (Packages.FindLinks is { Length: > 0 } links)
        {
            args.AddRange(["--find-links", links]);
        }
        // "--" keeps a requirement that starts with a dash from being read as an option.
        args.Add("--");
        args.AddRange(requirements);
        return await ToolProcess.RunAsync(Uv ?? python, args, InstallTimeout, ToolEnvironment(VenvOf(python)), onLine, cancellationToken);
    }

    /// <summary>Every distribution installed for <paramref name="python"/>; empty when it has no pip (a bare system Python).</summary>
    public async Task<IReadOnlyList<InstalledPackage>> ListAsync(string python, CancellationToken cancellationToken)
    {
        var output = Uv is not null
            ? await ToolProcess.RunAsync(Uv, ["pip", "list", "--python", python, "--format=json"], VenvTimeout, UvEnvironment(), cancellationToken: cancellationToken)
            : await ToolProcess.RunAsync(python, ["-m", "pip", "list", "--format=json", "--disable-pip-version-check"], VenvTimeout, cancellationToken: cancellationToken);
        if (!output.Ok)
        {
            return [];
        }
        var start = output.Stdout.IndexOf('[', StringComparison.Ordinal);
        if (start < 0)
        {
            return [];
        }
        using var document = JsonDocument.Parse(output.Stdout[start..]);
        return document.RootElement.EnumerateArray()
            .Select(p => new InstalledPackage(p.GetProperty("name").GetString() ?? "", p.GetProperty("version").GetString() ?? ""))
            .OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase)
            .ToList();
    }

    private static Dictionary<string, string> UvEnvironment() => new() { ["UV_NO_PROGRESS"] = "1" };

    /// <summary>uv's settings, and the environment worked on, so a start after a kill stops a tool left running (<see cref="LeftoverTools"/>).</summary>
    private static Dictionary<string, string> ToolEnvironment(string venv) => new(UvEnvironment()) { [LeftoverTools.Variable] = venv };

    /// <summary>The environment of <c>VENV/bin/python</c>.</summary>
    private static string VenvOf(string python) => Path.GetDirectoryName(Path.GetDirectoryName(python)) ?? python;
}
