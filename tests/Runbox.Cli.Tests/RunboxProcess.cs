using System.Diagnostics;

namespace Runbox.Cli.Tests;

/// <summary>The built CLI (<c>dotnet runbox.dll</c>) run as a user runs it: its own process, stdin given then closed.</summary>
internal static class RunboxProcess
{
    /// <param name="mergeStderr">Both streams into one pipe, as on a terminal: all of it comes back as Stdout.</param>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string? stdin, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null, bool mergeStderr = false)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "runbox.dll");
        var start = new ProcessStartInfo(mergeStderr ? "sh" : "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (mergeStderr)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("exec dotnet \"$0\" \"$@\" 2>&1");
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
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }
        process.StandardInput.Close();
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
        return (process.ExitCode, await stdout, await stderr);
    }
}
