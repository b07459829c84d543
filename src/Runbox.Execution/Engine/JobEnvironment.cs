using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;

namespace Runbox.Execution.Engine;

/// <summary>The environment a job starts with: a small clean base, the runtime's additions, then the job's own.</summary>
internal static class JobEnvironment
{
    public const string BasePath = "/usr/local/bin:/usr/bin:/bin";

    /// <summary>Also the zygote's own environment, so nothing of the host process reaches it or its jobs.</summary>
    public static Dictionary<string, string> Base(RuntimeDefinition? runtime)
    {
        var env = new Dictionary<string, string>
        {
            ["PATH"] = BasePath,
            ["LANG"] = "C.UTF-8",
            ["LC_ALL"] = "C.UTF-8",
            ["TMPDIR"] = "/tmp",
            ["PYTHONUNBUFFERED"] = "1",
        };
        if (runtime is not null)
        {
            var bin = Path.GetDirectoryName(runtime.PythonPath);
            if (bin is not null && !BasePath.Split(':').Contains(bin))
            {
                env["PATH"] = bin + ":" + BasePath;
            }
            foreach (var (key, value) in runtime.Environment)
            {
                env[key] = value;
            }
        }
        return env;
    }

    public static Dictionary<string, string> For(JobRequest request, RuntimeDefinition? runtime, string workingDirectory)
    {
        var env = Base(runtime);
        env["HOME"] = workingDirectory;
        foreach (var (key, value) in request.Environment)
        {
            env[key] = value;
        }
        return env;
    }

    /// <summary>Null when the variable is acceptable, else why not.</summary>
    public static string? Validate(string key, string value)
    {
        if (key.Length == 0 || key.Contains('=') || key.Contains('\0'))
        {
            return $"environment variable name '{key.Replace("\0", "\\0")}' is empty or contains '=' or NUL";
        }
        if (value.Contains('\0'))
        {
            return $"environment variable '{key}' contains NUL";
        }
        return null;
    }
}
