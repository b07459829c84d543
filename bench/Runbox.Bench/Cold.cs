using System.Diagnostics;

namespace Runbox.Bench;

/// <summary>A cold interpreter per job: what running <c>python3 script.py</c> from a service costs.</summary>
internal static class Cold
{
    public static async Task RunAsync(string python, string script)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await Task.WhenAll(stdout, stderr, process.WaitForExitAsync());
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"cold run failed: {await stderr}");
        }
    }
}
