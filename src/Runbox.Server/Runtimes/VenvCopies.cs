using System.Text;
using System.Text.RegularExpressions;

namespace Runbox.Server.Runtimes;

/// <summary>
/// Copies of a runtime's virtual environment. Packages are installed into a copy while jobs run on the environment in
/// use, and the runtime switches to the copy once it worked. A copy is <c>NAME+STAMP</c> beside the runtime's first
/// folder <c>NAME</c>: '+' is not allowed in a runtime name, so a copy is never taken for another runtime's folder, and
/// one that no record points at was left by a stopped server.
/// </summary>
public static class VenvCopies
{
    private static readonly TimeSpan CopyTimeout = TimeSpan.FromMinutes(5);

    public static string NewPath(string runtimesFolder, string name, DateTimeOffset now) =>
        Path.Combine(runtimesFolder, $"{name}+{now:yyyyMMddHHmmssfff}");

    /// <summary>The runtime a folder under <c>runtimes/</c> belongs to: its own name, or the part before '+' of a copy.</summary>
    public static string RuntimeOf(string folder)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(folder));
        var plus = name.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? name : name[..plus];
    }

    /// <summary>Whether <paramref name="venv"/> is a folder Runbox made for runtime <paramref name="name"/> (its first one or a copy).</summary>
    public static bool IsFolderOf(string runtimesFolder, string name, string? venv) =>
        venv is not null && Path.GetDirectoryName(Path.GetFullPath(venv)) == Path.GetFullPath(runtimesFolder) && RuntimeOf(venv) == name;

    /// <summary>
    /// Copies the environment keeping its symlinks (<c>bin/python</c> links to the base interpreter), so the copy's
    /// Python finds its own <c>pyvenv.cfg</c> and site-packages. Scripts in <c>bin/</c> that name the old folder (pip's
    /// shebang, <c>activate</c>) are pointed at the copy, which outlives the old folder.
    /// </summary>
    public static async Task<ToolOutput> CopyAsync(string from, string to, string? dropFile, CancellationToken cancellationToken)
    {
        // Marked as the installers are: a cp left running by a killed server is stopped at the next start.
        var copied = await ToolProcess.RunAsync("cp", ["-a", "--", from, to], CopyTimeout, new Dictionary<string, string> { [LeftoverTools.Variable] = to },
            cancellationToken: cancellationToken);
        if (!copied.Ok)
        {
            return copied;
        }
        if (dropFile is not null)
        {
            File.Delete(Path.Combine(to, dropFile));
        }
        var bin = Path.Combine(to, "bin");
        var oldPath = new Regex(Regex.Escape(Path.TrimEndingDirectorySeparator(from)) + @"(?=[/'""\s]|$)", RegexOptions.Multiline);
        foreach (var file in Directory.Exists(bin) ? Directory.EnumerateFiles(bin) : [])
        {
            var info = new FileInfo(file);
            if (info.LinkTarget is not null || info.Length > 1 << 20)
            {
                continue;
            }
            var bytes = await File.ReadAllBytesAsync(file, cancellationToken);
            // Text scripts only: a binary launcher is left as it is.
            if (bytes.AsSpan().Contains((byte)0))
            {
                continue;
            }
            var text = Encoding.UTF8.GetString(bytes);
            var rewritten = oldPath.Replace(text, Path.TrimEndingDirectorySeparator(to));
            if (rewritten != text)
            {
                await File.WriteAllTextAsync(file, rewritten, cancellationToken);
            }
        }
        return copied;
    }
}
