using System.Diagnostics;
using System.Text;

namespace Runbox.Server.Runtimes;

/// <summary>What a tool (python, pip, uv) printed and how it exited; <paramref name="Output"/> is both streams as they came.</summary>
public sealed record ToolOutput(int ExitCode, string Stdout, string Stderr, string Output = "")
{
    public bool Ok => ExitCode == 0;

    /// <summary>
    /// The lines that say why it failed: pip's "ERROR:" lines (uv's "error:" and its "×" causes), not the warnings
    /// before them (a slow index makes pip print "WARNING: Retrying ..." several times); the last line when there are none.
    /// </summary>
    public string Errors()
    {
        var lines = (Stderr.Trim().Length > 0 ? Stderr : Stdout).Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        var errors = lines.Where(IsError).Distinct().ToList();
        return errors.Count > 0 ? Last(string.Join('\n', errors), 2000) : Last(lines.LastOrDefault(l => !l.StartsWith("WARNING:", StringComparison.Ordinal)) ?? "", 2000);
    }

    // Flush left only: an indented "error:" is a build backend's own output, which pip sums up in a line of its own.
    private static bool IsError(string line) =>
        line.StartsWith("ERROR:", StringComparison.Ordinal) || line.StartsWith("error:", StringComparison.Ordinal)
        || line.TrimStart().StartsWith('×') || line.TrimStart().StartsWith("╰─▶", StringComparison.Ordinal);

    private static string Last(string text, int chars) => text.Length <= chars ? text : "…" + text[^chars..];

    /// <summary>The end of stderr (or stdout), enough to say why it failed without flooding a record.</summary>
    public string Tail(int chars = 2000)
    {
        var text = (Stderr.Trim().Length > 0 ? Stderr : Stdout).Trim();
        return Last(text, chars);
    }
}

/// <summary>Runs the host tools that build environments (never a job: these run as the server, outside the sandbox).</summary>
public static class ToolProcess
{
    public static async Task<ToolOutput> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null, Action<string>? onLine = null, CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        // A pyenv or venv activated around the server must not decide which interpreter a tool runs.
        start.Environment.Remove("VIRTUAL_ENV");
        start.Environment.Remove("PYTHONPATH");
        start.Environment.Remove("PYTHONHOME");
        start.Environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1";
        start.Environment["PIP_NO_INPUT"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        using var process = new Process { StartInfo = start };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var both = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (both)
                {
                    stdout.AppendLine(line);
                    both.AppendLine(line);
                }
                onLine?.Invoke(line);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (both)
                {
                    stderr.AppendLine(line);
                    both.AppendLine(line);
                }
            }
        };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            var failed = $"could not start {program}: {e.Message}";
            return new ToolOutput(127, "", failed, failed);
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            var late = $"{Path.GetFileName(program)} did not finish within {timeout.TotalSeconds:0} s";
            // Last, where Errors() finds it when the tool printed no error of its own.
            return new ToolOutput(-1, stdout.ToString(), $"{stderr}{late}\n", $"{both}{late}\n");
        }
        // The parameterless wait also drains the redirected output.
        process.WaitForExit();
        return new ToolOutput(process.ExitCode, stdout.ToString(), stderr.ToString(), both.ToString());
    }
}
