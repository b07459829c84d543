using System.Diagnostics;
using System.Text;

namespace Runbox.Server.Runtimes;

/// <summary>
/// Installers (pip, uv, venv, cp) left running by a server that was killed. They are not the server's children any
/// more and nothing stops them: one would go on writing into a folder the next start removes (a copy) or rebuilds (an
/// install again), recreating files there or mixing its packages into the new environment. Each tool runs with
/// <see cref="Variable"/> naming the environment it works on, so the next start finds exactly those of its own data
/// folder in <c>/proc</c> and stops them before it touches the folders.
/// </summary>
public static class LeftoverTools
{
    /// <summary>Set in each tool's environment (and so its children's): the environment folder it works on.</summary>
    public const string Variable = "RUNBOX_TOOL_VENV";

    /// <summary>Kills every process whose <see cref="Variable"/> names a folder in <paramref name="runtimesFolder"/>; answers their ids.</summary>
    public static IReadOnlyList<int> StopAll(string runtimesFolder)
    {
        var folder = Path.GetFullPath(runtimesFolder);
        var stopped = new List<Process>();
        foreach (var pid in ProcessIds())
        {
            if (VenvOf(pid) is { } venv && Path.GetDirectoryName(Path.GetFullPath(venv)) == folder)
            {
                try
                {
                    var process = Process.GetProcessById(pid);
                    process.Kill(entireProcessTree: true);
                    stopped.Add(process);
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // Gone meanwhile.
                }
            }
        }
        var ids = stopped.Select(p => p.Id).ToList();
        foreach (var process in stopped)
        {
            // Gone before the folders are cleared: a tool still exiting could write once more.
            process.WaitForExit(TimeSpan.FromSeconds(5));
            process.Dispose();
        }
        return ids;
    }

    private static IEnumerable<int> ProcessIds() =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Select(n => int.TryParse(n, out var pid) ? pid : 0)
            .Where(pid => pid > 0 && pid != Environment.ProcessId);

    private static string? VenvOf(int pid)
    {
        byte[] environ;
        try
        {
            environ = File.ReadAllBytes($"/proc/{pid}/environ");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // another user's process, or gone
        }
        var prefix = Encoding.UTF8.GetBytes(Variable + "=");
        foreach (var entry in environ.AsSpan().Split((byte)0))
        {
            var text = environ.AsSpan()[entry];
            if (text.StartsWith(prefix))
            {
                return Encoding.UTF8.GetString(text[prefix.Length..]);
            }
        }
        return null;
    }
}
