using System.Diagnostics;

namespace Runbox.Testing;

/// <summary>Runs a program as another local user (nobody, uid 65534, no groups), to see what the server leaves open to them.</summary>
internal static class OtherUser
{
    /// <summary>Skips the test where this machine cannot (it needs root and util-linux's setpriv); fails it under CI=true.</summary>
    public static void Require()
    {
        if (Environment.UserName == "root" && File.Exists("/usr/bin/setpriv"))
        {
            return;
        }
        const string why = "reading as another user needs root and /usr/bin/setpriv";
        Xunit.Assert.False(Environment.GetEnvironmentVariable("CI") == "true", why);
        Xunit.Skip.If(true, why);
    }

    /// <summary>The exit code of <paramref name="program"/> <paramref name="path"/> run as nobody: 0 if it could read it.</summary>
    public static async Task<int> ExitCodeAsync(string program, string path)
    {
        var start = new ProcessStartInfo("/usr/bin/setpriv") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "--", program, path])
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        await process.StandardOutput.ReadToEndAsync();
        await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode;
    }
}
