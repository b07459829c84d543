using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;

namespace Runbox.Execution.Engine;

/// <summary>
/// Whether the interpreters of Bash and Node.js jobs are there, checked before such a job takes a slot: a missing one is
/// the host's fault, while the exec failing in the job's own process ended the job "failed" with exit 127, as if the
/// script had been at fault.
/// </summary>
internal static class JobInterpreters
{
    /// <summary>Why a job of <paramref name="language"/> cannot run on this engine, or null.</summary>
    public static string? Problem(JobLanguage language, EngineOptions options) => language switch
    {
        JobLanguage.Bash => Unusable(options.BashPath) is { } why ? $"Bash jobs cannot run: EngineOptions.BashPath '{options.BashPath}' {why}" : null,
        JobLanguage.Node when options.NodePath is { } node => Unusable(node) is { } why ? $"Node.js jobs cannot run: EngineOptions.NodePath '{node}' {why}" : null,
        JobLanguage.Node => InterpreterLocator.FindOnPath("node") is null ? "Node.js jobs cannot run: no node on PATH, and EngineOptions.NodePath is not set" : null,
        _ => null,
    };

    /// <summary>
    /// What the engine says at start (in its capabilities' warnings and its log): a configured interpreter that is not
    /// there. No Node.js on PATH is not one: a host may run no Node.js jobs, and a warning at every start is ignored.
    /// </summary>
    public static IEnumerable<string> Warnings(EngineOptions options)
    {
        if (Problem(JobLanguage.Bash, options) is { } bash)
        {
            yield return bash;
        }
    }

    /// <summary>Why <paramref name="path"/> cannot be exec'd ("does not exist", ...), or null.</summary>
    public static string? Unusable(string path)
    {
        if (Directory.Exists(path))
        {
            return "is a folder, not a program";
        }
        try
        {
            const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            return (File.GetUnixFileMode(path) & anyExecute) == 0 ? "is not executable" : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Also a link to nothing.
            return "does not exist";
        }
    }
}
