namespace Runbox.Execution.Jobs;

/// <summary>
/// One script to run: either <see cref="Script"/> (written to <see cref="Entrypoint"/>, else to the language's default
/// entry point) or a set of <see cref="Files"/> with an <see cref="Entrypoint"/> among them.
/// </summary>
public sealed record JobRequest
{
    /// <summary>
    /// Identifies the job in its result, in logs and in its folder's name; one is generated when empty. At most 128
    /// letters, digits, '.', '_' or '-' (not '.' or '..'). Jobs running at once may share one.
    /// </summary>
    public string Id { get; init; } = "";

    /// <summary>Which interpreter runs it; Python unless set.</summary>
    public JobLanguage Language { get; init; } = JobLanguage.Python;

    /// <summary>The script's text, written to <see cref="Entrypoint"/> (or the language's default name) and run. Give this, <see cref="Files"/>, or both (a script and the files it uses).</summary>
    public string? Script { get; init; }

    /// <summary>
    /// Relative path → content, written into the working directory before start. With <see cref="Script"/>, the files
    /// the script uses: none may have the entry point's name, which the script is written to.
    /// </summary>
    public IReadOnlyDictionary<string, byte[]>? Files { get; init; }

    /// <summary>
    /// Which of <see cref="Files"/> to run, or the name <see cref="Script"/> is written to and runs as (its
    /// <c>__file__</c>, <c>sys.argv[0]</c> and traceback name); defaults to main.py / main.sh / main.js.
    /// </summary>
    public string? Entrypoint { get; init; }

    /// <summary>The Python runtime (interpreter + preloads) that runs the job. Bash and Node.js jobs ignore it.</summary>
    public string Runtime { get; init; } = "default";

    /// <summary>The script's arguments (<c>sys.argv[1:]</c>, <c>$1</c>...); never passed through a shell.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>
    /// An explicit argv to execute in the sandbox instead of a script (the library's subprocess runner).
    /// The first element is a program name or path; <see cref="Args"/> is ignored when this is set.
    /// </summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary>The bytes the job reads on stdin, then end of file; null: stdin is empty. See also <see cref="StdinStream"/>.</summary>
    public byte[]? Stdin { get; init; }

    /// <summary>
    /// Stdin as a stream, for input too large to hold in memory (a file, a pipe, a request body): read from its
    /// position to its end while the job runs, no faster than the job reads it, then end of file. Give this or
    /// <see cref="Stdin"/>, not both. A stream is read once, so a request with one runs once; the engine does not dispose
    /// it. If reading it throws, the job is stopped and ends as error, rather than reading a shortened input.
    /// </summary>
    public Stream? StdinStream { get; init; }

    /// <summary>Added to the clean base environment; never the host's own variables.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// An existing directory to run in, left in place afterwards. When null the job gets a fresh empty directory
    /// that is removed when it ends.
    /// </summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Where to copy the files the job leaves behind; when null artifacts are listed but not kept.</summary>
    public string? ArtifactDirectory { get; init; }

    /// <summary>Its limits; each one left null is the engine's default (<see cref="Engine.EngineOptions.DefaultLimits"/>).</summary>
    public JobLimits Limits { get; init; } = new();

    /// <summary>Network access; where the engine's options do not allow it (<see cref="Engine.EngineOptions.AllowNetwork"/>) the job ends as error, unrun.</summary>
    public bool Network { get; init; }

    /// <summary>
    /// Python only: run in a freshly exec'd interpreter instead of the zygote's fast path. A job whose
    /// <see cref="Environment"/> sets a variable CPython reads only as it starts (<c>PYTHONPATH</c>, <c>PYTHONHASHSEED</c>,
    /// ...) runs that way too.
    /// </summary>
    public bool Fresh { get; init; }
}
