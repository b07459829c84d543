using System.Text.RegularExpressions;

namespace Runbox.Server.Runtimes;

/// <summary>What a runtime name, a requirement and a preload module may look like; each rule names what is wrong.</summary>
public static partial class RuntimeRules
{
    public const string DefaultName = "default";

    public static void Name(string? name)
    {
        if (name is null || !NamePattern().IsMatch(name))
        {
            throw RuntimeRequestException.Invalid("name", "must be 1-64 of a-z, 0-9, '.', '_', '-' starting with a letter or digit.");
        }
    }

    public static void PythonVersion(string? version)
    {
        if (version is not null && !PythonInterpreters.IsVersionText(version))
        {
            throw RuntimeRequestException.Invalid("python_version", "must be a Python 3 version such as 3.12 or 3.12.3.");
        }
    }

    public static List<string> Requirements(IEnumerable<string>? requirements, string field = "packages")
    {
        var list = (requirements ?? []).ToList();
        if (list.Count > 200)
        {
            throw RuntimeRequestException.Invalid(field, "at most 200 packages at once.");
        }
        foreach (var requirement in list)
        {
            if (string.IsNullOrWhiteSpace(requirement) || requirement.Length > 200 || requirement.StartsWith('-') || requirement.Any(char.IsControl))
            {
                throw RuntimeRequestException.Invalid(field, $"'{requirement}' is not a package requirement (such as numpy or numpy==2.1.0; options are not allowed).");
            }
            if (IsDirectReference(requirement))
            {
                throw RuntimeRequestException.Invalid(field,
                    $"'{requirement}' names where to get the package (a URL, path or file); give its name and version only (such as numpy or numpy==2.1.0): packages come from the server's configured index or wheel folder (Runbox:Packages).");
            }
        }
        return list;
    }

    /// <summary>
    /// pip installs <c>name @ URL</c>, a URL, a path or a wheel file from wherever it says, past the index, the wheel
    /// folder and offline mode the server is configured with: where packages come from is configuration, never the
    /// request. Before its marker (after ';'), a requirement of a name, extras and versions holds no '@' (PEP 508's
    /// direct reference), ':', '/' or '\\', and is no file name.
    /// </summary>
    private static bool IsDirectReference(string requirement)
    {
        var spec = requirement.Split(';', 2)[0].Trim();
        return spec.Contains('@') || spec.Contains('/') || spec.Contains('\\') || spec.Contains(':') || spec.StartsWith('.') || spec.StartsWith('~')
            || spec.EndsWith(".whl", StringComparison.OrdinalIgnoreCase) || spec.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)
            || spec.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase);
    }

    public static List<string> Modules(IEnumerable<string>? modules, string field = "preload")
    {
        var list = (modules ?? []).Distinct().ToList();
        foreach (var module in list)
        {
            if (module is null || !ModulePattern().IsMatch(module))
            {
                throw RuntimeRequestException.Invalid(field, $"'{module}' is not a module name (such as numpy or os.path).");
            }
        }
        return list;
    }

    // \z, not $: $ also matches before a final newline ("numpy\n" would pass, a runtime "x\n" get a folder of that name).
    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,63}\z")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\z")]
    private static partial Regex ModulePattern();
}
