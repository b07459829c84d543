using System.Text.RegularExpressions;
using Runbox.Execution.Runtimes;

namespace Runbox.Server.Runtimes;

/// <summary>One interpreter found on the host: its real path (as <c>sys.executable</c> says) and full version.</summary>
public sealed record PythonInterpreter(string Path, Version Version)
{
    public string VersionText => $"{Version.Major}.{Version.Minor}.{Version.Build}";
}

/// <summary>
/// Finds Python 3 interpreters: <c>python3</c> and <c>python3.X</c> on PATH, <c>/usr/bin/python3*</c>, pyenv's
/// versions and uv's managed Pythons. Each candidate is asked for its own version and real path, so links and
/// duplicates collapse to one entry. Versions older than the zygote supports (3.8) are left out.
/// </summary>
public static partial class PythonInterpreters
{
    /// <summary>The oldest Python a runtime runs on: what the zygote needs. Older ones are not listed as found.</summary>
    public static readonly Version Oldest = new(3, 8);
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static IReadOnlyList<PythonInterpreter>? cached;

    /// <summary>Every interpreter found, newest first. Found once per process; <paramref name="refresh"/> looks again.</summary>
    public static async Task<IReadOnlyList<PythonInterpreter>> FindAllAsync(bool refresh = false, CancellationToken cancellationToken = default)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            if (cached is null || refresh)
            {
                var probes = Candidates().Select(c => ProbeAsync(c, cancellationToken));
                var found = (await Task.WhenAll(probes)).OfType<PythonInterpreter>();
                cached = found.DistinctBy(i => RealPath(i.Path)).OrderByDescending(i => i.Version).ThenBy(i => i.Path, StringComparer.Ordinal).ToList();
            }
            return cached;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// The newest interpreter matching <paramref name="requested"/> ("3.12" any patch, "3.12.3" exactly, null any);
    /// null when none matches.
    /// </summary>
    public static async Task<PythonInterpreter?> ResolveAsync(string? requested, CancellationToken cancellationToken = default)
    {
        var match = Match(await FindAllAsync(false, cancellationToken), requested);
        // An interpreter installed since the last look (pyenv install while the server runs) is found on a second look.
        return match ?? Match(await FindAllAsync(true, cancellationToken), requested);
    }

    public static bool IsVersionText(string text) => VersionPattern().IsMatch(text);

    private static PythonInterpreter? Match(IReadOnlyList<PythonInterpreter> all, string? requested)
    {
        if (string.IsNullOrEmpty(requested))
        {
            return all.FirstOrDefault();
        }
        var parts = requested.Split('.').Select(int.Parse).ToArray();
        return all.FirstOrDefault(i => i.Version.Major == parts[0]
            && (parts.Length < 2 || i.Version.Minor == parts[1])
            && (parts.Length < 3 || i.Version.Build == parts[2]));
    }

    private static IEnumerable<string> Candidates()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var names = new List<string>();
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin"))
        {
            // pyenv's shims are shell scripts that pick a version by the caller's folder; its versions are read directly below.
            if (directory.Contains("/shims", StringComparison.Ordinal) || !Directory.Exists(directory))
            {
                continue;
            }
            names.AddRange(Directory.EnumerateFiles(directory, "python3*").Where(p => PythonName().IsMatch(System.IO.Path.GetFileName(p))));
        }
        var pyenvRoot = Environment.GetEnvironmentVariable("PYENV_ROOT") is { Length: > 0 } root ? root : System.IO.Path.Combine(home, ".pyenv");
        names.AddRange(Glob(System.IO.Path.Combine(pyenvRoot, "versions"), "bin/python"));
        var uvRoot = Environment.GetEnvironmentVariable("UV_PYTHON_INSTALL_DIR") is { Length: > 0 } uv ? uv
            : System.IO.Path.Combine(Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg ? xdg : System.IO.Path.Combine(home, ".local/share"), "uv/python");
        names.AddRange(Glob(uvRoot, "bin/python3"));
        return names.Where(File.Exists).Distinct();
    }

    /// <summary>
    /// The path with every link on the way resolved, as realpath(3) gives it: /bin/python3.11 is /usr/bin/python3.11 where
    /// /bin links to usr/bin, though neither file is a link itself.
    /// </summary>
    internal static string RealPath(string path)
    {
        var resolved = "/";
        var parts = new Queue<string>(System.IO.Path.GetFullPath(path).Split('/', StringSplitOptions.RemoveEmptyEntries));
        // A bound on the links followed, as the kernel's: a loop of links ends here rather than never.
        for (var links = 0; parts.Count > 0 && links < 40;)
        {
            var next = System.IO.Path.Combine(resolved, parts.Dequeue());
            if (new FileInfo(next).LinkTarget is { } target)
            {
                links++;
                // The target's own components are resolved in turn, from the link's folder or from the root.
                var rest = parts.ToArray();
                parts = new Queue<string>(System.IO.Path.GetFullPath(target, resolved).Split('/', StringSplitOptions.RemoveEmptyEntries).Concat(rest));
                resolved = "/";
                continue;
            }
            resolved = next;
        }
        return parts.Count == 0 ? resolved : path;
    }

    private static IEnumerable<string> Glob(string folder, string relative) =>
        Directory.Exists(folder) ? Directory.EnumerateDirectories(folder).Select(d => System.IO.Path.Combine(d, relative)) : [];

    private static async Task<PythonInterpreter?> ProbeAsync(string candidate, CancellationToken cancellationToken)
    {
        var output = await ToolProcess.RunAsync(candidate, ["-S", "-I", "-c", "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"],
            TimeSpan.FromSeconds(15), cancellationToken: cancellationToken);
        var lines = output.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (!output.Ok || lines.Length < 2 || !Version.TryParse(lines[1], out var version) || version < Oldest)
        {
            return null;
        }
        var path = lines[0].Length > 0 ? lines[0] : candidate;
        // The zygote runs the interpreter by this path, so a link that later moves (alternatives) is resolved now.
        return new PythonInterpreter(InterpreterLocator.FindOnPath(path) ?? path, version);
    }

    [GeneratedRegex(@"^python3(\.\d+)?$")]
    private static partial Regex PythonName();

    // \z: "3.12\n" is not a version.
    [GeneratedRegex(@"^3(\.\d{1,2}){1,2}\z")]
    private static partial Regex VersionPattern();
}
