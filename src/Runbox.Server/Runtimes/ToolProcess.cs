using System.Diagnostics;
using System.Text;

namespace Runbox.Server.Runtimes;

/// <summary>What a tool (python, pip, uv) printed and how it exited.</summary>
public sealed record ToolOutput(int ExitCode, string Stdout, string Stderr)
{
    public bool Ok => ExitCode == 0;

    /// <summary>The end of stderr (or stdout), enough to say why it failed without flooding a record.</summary>
    public string Tail(int chars = 2000)
    {
        var text = (Stderr.Trim().Length > 0 ? Stderr : Stdout).Trim();
        return text.Length <= chars ? text : "…" + text[^chars..];
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
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (stdout)
                {
                    stdout.AppendLine(line);
                }
                onLine?.Invoke(line);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (stderr)
                {
                    stderr.AppendLine(line);
                }
            }
        };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ToolOutput(127, "", $"could not start {program}: {e.Message}");
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
            return new ToolOutput(-1, stdout.ToString(), $"{Path.GetFileName(program)} did not finish within {timeout.TotalSeconds:0} s\n{stderr}");
        }
        // The parameterless wait also drains the redirected output.
        process.WaitForExit();
        return new ToolOutput(process.ExitCode, stdout.ToString(), stderr.ToString());
    }
}
