namespace Runbox.Execution.Invocations;

/// <summary>
/// One request to run something, dispatched by <see cref="RuntimeKind"/> to a registered <see cref="IRuntimeRunner"/>.
/// Built with an object initializer; <see cref="ExecutorRuntime.RunAsync"/> validates it and answers
/// <see cref="RuntimeStatus.Rejected"/> rather than throwing when it is not valid.
/// </summary>
public sealed class RuntimeInvocation
{
    /// <summary>The caller's id for this run, echoed in the result.</summary>
    public string InvocationId { get; init; } = "";

    /// <summary>Which runtime runs it. For <c>python</c> this is the Runbox runtime (<c>default</c> and the ones declared).</summary>
    public string RuntimeName { get; init; } = "";

    /// <summary>Which runner runs it: <c>subprocess</c>, <c>python</c>, <c>manual</c>, <c>http</c>, <c>http_async</c> or one registered.</summary>
    public string RuntimeKind { get; init; } = "";

    /// <summary>An existing directory to run in. When null, engine runners give the job a fresh empty one.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>The argv. Never passed through a shell. The HTTP runners and <c>manual</c> do not need one.</summary>
    public string[] Command { get; init; } = [];

    /// <summary>Variables added to the runner's clean base environment; the host's own never leak in.</summary>
    public Dictionary<string, string> Environment { get; init; } = [];

    /// <summary>Wall time from the start of <see cref="ExecutorRuntime.RunAsync"/> to <see cref="RuntimeStatus.TimedOut"/>; null for none of our own.</summary>
    public int? TimeoutSeconds { get; init; }

    /// <summary>The longest <see cref="TimeoutSeconds"/>: what a .NET timer can wait (about 49 days).</summary>
    public const int MaxTimeoutSeconds = 4_294_967;

    /// <summary>A file whose bytes become the process's stdin, or the HTTP request body when <c>http.body</c> is unset.</summary>
    public string? InputPayloadPath { get; init; }

    /// <summary>Where the result is written as JSON when the run ends, whatever its status.</summary>
    public string? OutputResultPath { get; init; }

    /// <summary>Where stdout, stderr and the files the run produced are kept. A temporary directory when null.</summary>
    public string? ArtifactDirectory { get; init; }

    /// <summary>Runner settings (<c>http.url</c>, <c>http_async.poll_url</c>, <c>python.fresh</c>, ...). Not echoed in the result.</summary>
    public Dictionary<string, string> Metadata { get; init; } = [];

    /// <summary>Every problem with the invocation itself, not with what it refers to on disk.</summary>
    /// <param name="requireCommand">Whether the chosen runner needs <see cref="Command"/>.</param>
    public IReadOnlyList<string> Validate(bool requireCommand = true)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(InvocationId))
        {
            errors.Add("invocation_id is empty.");
        }
        if (string.IsNullOrWhiteSpace(RuntimeName))
        {
            errors.Add("runtime_name is empty.");
        }
        if (string.IsNullOrWhiteSpace(RuntimeKind))
        {
            errors.Add("runtime_kind is empty.");
        }
        // Null elements can arrive from JSON or reflection even though the type says string[].
        if (Command is null || (requireCommand && Command.Length == 0))
        {
            errors.Add("command is empty.");
        }
        else if (Command.Length > 0 && string.IsNullOrEmpty(Command[0]))
        {
            errors.Add("command[0] (the program) is empty.");
        }
        else if (Command.Any(argument => argument is null))
        {
            errors.Add("command has a null argument.");
        }
        if (TimeoutSeconds is <= 0 or > MaxTimeoutSeconds)
        {
            errors.Add($"timeout_seconds must be between 1 and {MaxTimeoutSeconds}, not {TimeoutSeconds}.");
        }
        if (Environment is null || Environment.Keys.Any(key => key.Length == 0 || key.Contains('=') || key.Contains('\0')))
        {
            errors.Add("environment has an empty name or a name containing '=' or NUL.");
        }
        if (Metadata is null)
        {
            errors.Add("metadata is null.");
        }
        // A NUL made the framework throw "Null character in path" out of RunAsync, which promises a result instead.
        foreach (var (name, path) in new[] { ("working_directory", WorkingDirectory), ("input_payload_path", InputPayloadPath), ("output_result_path", OutputResultPath), ("artifact_directory", ArtifactDirectory) })
        {
            if (path is not null && path.Contains('\0'))
            {
                errors.Add($"{name} contains NUL.");
            }
        }
        return errors;
    }
}
