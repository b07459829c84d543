using Runbox.Execution.Jobs;

namespace Runbox.Storage.Jobs;

/// <summary>What a client submitted: everything needed to run the job on any worker. Stored as one JSON document.</summary>
public sealed record JobSpec
{
    public string Language { get; init; } = "python";

    public string? Script { get; init; }

    /// <summary>Relative path → content (base64 on the wire, bytes here).</summary>
    public IReadOnlyDictionary<string, byte[]>? Files { get; init; }

    public string? Entrypoint { get; init; }

    public string Runtime { get; init; } = "default";

    public IReadOnlyList<string> Args { get; init; } = [];

    public byte[]? Stdin { get; init; }

    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    public double? TimeoutSeconds { get; init; }

    public double? CpuSeconds { get; init; }

    public long? MemoryMb { get; init; }

    public int? Processes { get; init; }

    public long? OutputBytes { get; init; }

    public long? FileSizeMb { get; init; }

    /// <summary>Total size of the job's working folder (the engine's <c>disk</c> limit).</summary>
    public long? DiskMb { get; init; }

    public bool Network { get; init; }

    public bool Fresh { get; init; }

    public string? CallbackUrl { get; init; }

    /// <summary>An existing host folder to run in instead of a fresh one (admin only: JSON-RPC's working_dir).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Runs allowed when a worker is lost mid-job; 1 means a lost job ends as error.</summary>
    public int MaxAttempts { get; init; } = 1;

    /// <summary>
    /// This spec less its submission: the script, files, args, stdin and env, which only the job's own page and its worker
    /// need (<see cref="JobRecord.SubmissionLeftOut"/>).
    /// </summary>
    public JobSpec WithoutSubmission() =>
        this with { Script = null, Files = null, Args = [], Stdin = null, Env = new Dictionary<string, string>() };
}
