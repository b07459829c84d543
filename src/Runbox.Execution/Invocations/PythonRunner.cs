using System.Text;
using System.Text.RegularExpressions;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Invocations;

/// <summary>
/// Runs a Python script or module on the zygote's fast path of the runtime named by
/// <see cref="RuntimeInvocation.RuntimeName"/>. <see cref="RuntimeInvocation.Command"/> is what follows the
/// interpreter: <c>[script.py, args...]</c> or <c>[-m, package.module, args...]</c>; a leading <c>python</c> or
/// <c>python3</c> is dropped. Metadata <c>python.fresh=true</c> asks for a freshly exec'd interpreter instead.
/// </summary>
public sealed partial class PythonRunner(IJobEngine engine) : IRuntimeRunner
{
    /// <summary>Names the launcher written for <c>-m</c>, unique so runs sharing a working directory do not collide.</summary>
    private const string LauncherPrefix = ".runbox_module_";

    /// <inheritdoc/>
    public async Task<RuntimeResult> RunAsync(RuntimeInvocation invocation, RunnerContext context, CancellationToken cancellationToken)
    {
        var arguments = invocation.Command.Length > 0 && invocation.Command[0] is "python" or "python3"
            ? invocation.Command[1..]
            : invocation.Command;
        if (arguments.Length == 0)
        {
            return RuntimeResult.Rejected("command names no script or module after the interpreter.");
        }

        if (arguments[0] is not "-m" && arguments[0].StartsWith('-'))
        {
            // Otherwise '-c' would be looked for as a script file and reported missing.
            return RuntimeResult.Rejected($"The interpreter option '{arguments[0]}' is not supported: give a script file or '-m module'.");
        }

        var workingDirectory = invocation.WorkingDirectory is { } directory ? Path.GetFullPath(directory) : null;
        var (files, entrypoint, args, error) = arguments[0] == "-m"
            ? Module(arguments)
            : await ScriptAsync(arguments, workingDirectory, cancellationToken);
        if (error is not null)
        {
            return RuntimeResult.Rejected(error);
        }

        await using var payload = EngineJobs.OpenPayload(invocation);
        var request = new JobRequest
        {
            Id = ExecutorRuntime.SafeName(invocation.InvocationId),
            Language = JobLanguage.Python,
            Runtime = invocation.RuntimeName,
            Files = files,
            Entrypoint = entrypoint,
            Args = args,
            Environment = invocation.Environment,
            WorkingDirectory = workingDirectory,
            ArtifactDirectory = EngineJobs.ArtifactCopyDirectory(workingDirectory, context),
            StdinStream = payload,
            Limits = EngineJobs.Limits(context),
            Fresh = invocation.Metadata.GetValueOrDefault("python.fresh") is "true" or "1",
        };
        try
        {
            return await EngineJobs.RunAsync(engine, request, context, cancellationToken);
        }
        finally
        {
            // The launcher is ours, not an artifact of the caller's: it does not stay in their directory.
            if (workingDirectory is not null && entrypoint!.StartsWith(LauncherPrefix, StringComparison.Ordinal))
            {
                File.Delete(Path.Combine(workingDirectory, entrypoint));
            }
        }
    }

    /// <summary>A two-line launcher: runpy gives the module <c>__name__ == "__main__"</c> and its own <c>sys.argv[0]</c>, like <c>python -m</c>.</summary>
    private static (Dictionary<string, byte[]>?, string?, string[], string?) Module(string[] arguments)
    {
        if (arguments.Length < 2 || !ModuleName().IsMatch(arguments[1]))
        {
            return (null, null, [], $"'-m' needs a dotted module name, not '{(arguments.Length < 2 ? "" : arguments[1])}'.");
        }
        // The name is checked above, so it can be put in a Python string literal as it is.
        var launcher = $"import runpy\nrunpy.run_module(\"{arguments[1]}\", run_name=\"__main__\", alter_sys=True)\n";
        var entrypoint = $"{LauncherPrefix}{Guid.NewGuid():N}.py";
        var files = new Dictionary<string, byte[]> { [entrypoint] = Encoding.UTF8.GetBytes(launcher) };
        return (files, entrypoint, arguments[2..], null);
    }

    private static async Task<(Dictionary<string, byte[]>?, string?, string[], string?)> ScriptAsync(
        string[] arguments, string? workingDirectory, CancellationToken cancellationToken)
    {
        var script = Path.GetFullPath(arguments[0], workingDirectory ?? Environment.CurrentDirectory);
        if (!File.Exists(script))
        {
            return (null, null, [], $"The script '{arguments[0]}' does not exist.");
        }
        var name = Path.GetFileName(script);
        if (workingDirectory is not null)
        {
            var relative = Path.GetRelativePath(workingDirectory, script);
            // A copy of an outside script would land in the caller's directory, possibly over a file of theirs.
            if (relative == ".." || relative.StartsWith($"..{Path.DirectorySeparatorChar}", StringComparison.Ordinal) || Path.IsPathRooted(relative))
            {
                return (null, null, [], $"The script '{arguments[0]}' is outside working_directory.");
            }
            name = relative.Replace(Path.DirectorySeparatorChar, '/');
        }
        var files = new Dictionary<string, byte[]> { [name] = await File.ReadAllBytesAsync(script, cancellationToken) };
        return (files, name, arguments[1..], null);
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")]
    private static partial Regex ModuleName();
}
