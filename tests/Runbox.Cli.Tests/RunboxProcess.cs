using System.Diagnostics;
using System.Text;

namespace Runbox.Cli.Tests;

/// <summary>The built CLI (<c>dotnet runbox.dll</c>) run as a user runs it: its own process, stdin given then closed.</summary>
internal static class RunboxProcess
{
    /// <param name="mergeStderr">Both streams into one pipe, as on a terminal: all of it comes back as Stdout.</param>
    /// <param name="onStderrLine">Given each line of stderr as it comes (without its newline), for a test that acts on one.</param>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string? stdin, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null, bool mergeStderr = false,
        Action<string>? onStderrLine = null)
    {
        using var process = Start(args, environment, mergeStderr);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = onStderrLine is null ? process.StandardError.ReadToEndAsync() : ReadLinesAsync(process.StandardError, onStderrLine);
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }
        process.StandardInput.Close();
        await WaitAsync(process, timeout);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>As <see cref="RunAsync"/> without stdin, with stdout as the exact bytes the CLI wrote.</summary>
    public static async Task<(int ExitCode, byte[] Stdout, string Stderr)> RunForBytesAsync(
        IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Start(args, environment, mergeStderr: false);
        using var stdout = new MemoryStream();
        var copied = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Close();
        await WaitAsync(process, timeout);
        await copied;
        return (process.ExitCode, stdout.ToArray(), await stderr);
    }

    /// <summary>
    /// <c>runbox ARGS | READER</c> in bash, as a user pipes its output into another program (<c>head -n 2</c>): the CLI's
    /// exit code (not the reader's), what the reader printed, and the CLI's stderr.
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunPipedAsync(
        IEnumerable<string> args, string reader, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Start(args, environment, mergeStderr: false, shell: $"dotnet \"$0\" \"$@\" | {reader}; exit \"${{PIPESTATUS[0]}}\"");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Close();
        await WaitAsync(process, timeout);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// <c>runbox ARGS REDIRECTIONS</c> in bash, as a user closes a standard stream (<c>&gt;&amp;-</c>, <c>2&gt;&amp;-</c>,
    /// <c>&lt;&amp;-</c>): the CLI's exit code and what it wrote to the streams left open.
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunRedirectedAsync(
        IEnumerable<string> args, string redirections, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Start(args, environment, mergeStderr: false, shell: $"exec dotnet \"$0\" \"$@\" {redirections}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Close();
        await WaitAsync(process, timeout);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static Process Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, bool mergeStderr, string? shell = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "runbox.dll");
        shell ??= mergeStderr ? "exec dotnet \"$0\" \"$@\" 2>&1" : null;
        var start = new ProcessStartInfo(shell is null ? "dotnet" : "bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (shell is not null)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(shell);
        }
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        return Process.Start(start)!;
    }

    private static async Task WaitAsync(Process process, TimeSpan timeout)
    {
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            // A command that should have ended (a server that should have refused to start) is not left running.
            process.Kill(entireProcessTree: true);
            throw;
        }
    }

    private static async Task<string> ReadLinesAsync(StreamReader reader, Action<string> onLine)
    {
        var all = new StringBuilder();
        while (await reader.ReadLineAsync() is { } line)
        {
            all.Append(line).Append('\n');
            onLine(line);
        }
        return all.ToString();
    }
}
