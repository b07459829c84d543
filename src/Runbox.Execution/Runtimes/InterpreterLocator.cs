using System.Diagnostics;

namespace Runbox.Execution.Runtimes;

/// <summary>Finds interpreters on this host.</summary>
public static class InterpreterLocator
{
    /// <summary>The first executable named <paramref name="name"/> on PATH, or null.</summary>
    public static string? FindOnPath(string name, string? path = null)
    {
        if (name.Contains('/'))
        {
            return File.Exists(name) ? Path.GetFullPath(name) : null;
        }
        foreach (var directory in (path ?? Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.OtherExecute)) != 0)
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// The real interpreter behind <c>python3</c> on PATH (a pyenv shim is a shell script, not an interpreter),
    /// asked of the interpreter itself.
    /// </summary>
    public static string ResolvePython(string command = "python3")
    {
        var found = FindOnPath(command) ?? throw new InvalidOperationException($"No {command} on PATH; install Python 3.8 or newer.");
        var start = new ProcessStartInfo(found) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import sys; print(sys.executable)");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return process.ExitCode == 0 && output.Length > 0 ? output : found;
    }
}
