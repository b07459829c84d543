namespace Runbox.Server.Jobs;

/// <summary>The body of <c>POST /api/v1/jobs</c>: a script, or files with an entry point, and how to run it.</summary>
public sealed record JobSubmission
{
    public string? Script { get; init; }

    /// <summary>Relative path → content, base64 encoded.</summary>
    public Dictionary<string, byte[]>? Files { get; init; }

    /// <summary>
    /// With files, which one to run; with a script, the file name it is written to (a plain name such as
    /// <c>report.py</c>, for <c>__file__</c> and tracebacks). Default main.py / main.sh / main.js.
    /// </summary>
    public string? Entrypoint { get; init; }

    public string? Language { get; init; }

    public string? Runtime { get; init; }

    public List<string>? Args { get; init; }

    /// <summary>Text given to the script on standard input.</summary>
    public string? Stdin { get; init; }

    public Dictionary<string, string>? Env { get; init; }

    public JobLimitsBody? Limits { get; init; }

    public bool? Network { get; init; }

    /// <summary>Python only: a fresh interpreter instead of the zygote's fast path.</summary>
    public bool? Fresh { get; init; }

    /// <summary>Where to POST the final job when it ends.</summary>
    public string? CallbackUrl { get; init; }

    /// <summary>Runs allowed when a worker is lost mid-job (default 1: a lost job ends as error "worker lost").</summary>
    public int? MaxAttempts { get; init; }
}

/// <summary>Limits as the API names them; each is optional and bounded by the server's maximums.</summary>
public sealed record JobLimitsBody
{
    public double? TimeoutSeconds { get; init; }

    public double? CpuSeconds { get; init; }

    public long? MemoryMb { get; init; }

    public int? Processes { get; init; }

    public long? OutputBytes { get; init; }

    public long? FileSizeMb { get; init; }

    /// <summary>Total size of the job's working folder: inputs and every file it writes there.</summary>
    public long? DiskMb { get; init; }
}
