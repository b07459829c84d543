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
    /// The real interpreter behind <c>python3</c> on PATH. A program (an ELF file) is taken as found, as `python3`
    /// would run it (a venv's symlink keeps its venv); anything else, such as a pyenv shim (a shell script), is asked
    /// for its <c>sys.executable</c>, without the site module (where it was measured, a `.pth` file took 0.05 s of
    /// every start). It runs at every `runbox exec`, whose start it was a third of.
    /// </summary>
    public static string ResolvePython(string command = "python3")
    {
        var found = FindOnPath(command) ?? throw new InvalidOperationException($"No {command} on PATH; install Python 3.8 or newer.");
        if (IsProgram(found))
        {
            return found;
        }
        var start = new ProcessStartInfo(found) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "-S", "-I", "-c", "import sys; print(sys.executable)" })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return process.ExitCode == 0 && output.Length > 0 ? output : found;
    }

    private static bool IsProgram(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        try
        {
            using var file = File.OpenRead(path);
            return file.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) == magic.Length && magic.SequenceEqual("\u007FELF"u8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
