using System.Diagnostics;
using System.Text;

namespace Runbox.Cli.Tests;

/// <summary>The built CLI run until it prints a given text, then sent SIGINT, as Ctrl-C at a terminal sends it.</summary>
internal static class InterruptedRunbox
{
    /// <param name="onStderr">Wait for <paramref name="waitFor"/> on stderr (a command's progress) instead of stdout; then Stdout is what came on stdout.</param>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IEnumerable<string> args, string waitFor, TimeSpan timeout, bool onStderr = false)
    {
        using var process = Start(args);
        process.StandardInput.Close();
        var watched = onStderr ? process.StandardError : process.StandardOutput;
        var stdout = new StringBuilder();
        var stderr = (onStderr ? process.StandardOutput : process.StandardError).ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            var buffer = new char[4096];
            while (!stdout.ToString().Contains(waitFor, StringComparison.Ordinal))
            {
                var read = await watched.ReadAsync(buffer, deadline.Token);
                if (read == 0)
                {
                    throw new InvalidOperationException($"runbox ended before printing '{waitFor}': {stdout}{await stderr}");
                }
                stdout.Append(buffer, 0, read);
            }
            await InterruptAsync(process, deadline.Token);
            stdout.Append(await watched.ReadToEndAsync(deadline.Token));
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"runbox did not end within {timeout}: {stdout}");
        }
        return onStderr ? (process.ExitCode, await stderr, stdout.ToString()) : (process.ExitCode, stdout.ToString(), await stderr);
    }

    /// <summary>
    /// The built CLI with stdin a pipe left open (<c>producer | runbox run job.py</c>), sent SIGINT once it has had
    /// time to start reading it; then stdin is closed, as Ctrl-C at a terminal ends the producer too.
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunReadingStdinAsync(IEnumerable<string> args, TimeSpan timeout)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync("partial input\n");
        await process.StandardInput.FlushAsync();
        // Time for .NET to start and the CLI to reach its read of stdin, which nothing it prints marks.
        await Task.Delay(TimeSpan.FromSeconds(3));
        await InterruptAsync(process, CancellationToken.None);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The built CLI (`dotnet runbox.dll`, so it runs in this very process) with stdin, stdout and stderr piped.</summary>
    private static Process Start(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "runbox.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        return Process.Start(start)!;
    }

    /// <summary>SIGINT, as Ctrl-C at a terminal sends it; it reaches the CLI's handler, which runs in that process.</summary>
    private static async Task InterruptAsync(Process process, CancellationToken cancellationToken)
    {
        using var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(cancellationToken);
    }
}
