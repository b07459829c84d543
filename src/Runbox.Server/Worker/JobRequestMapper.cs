using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Server.Worker;

/// <summary>From what a client submitted (stored) to what the engine runs.</summary>
internal static class JobRequestMapper
{
    private const long Mb = 1024 * 1024;

    public static JobRequest? TryMap(JobRecord job, string artifactDirectory, bool allowNetwork, out string? error)
    {
        var spec = job.Spec;
        if (!JobLanguageExtensions.TryParse(spec.Language, out var language))
        {
            error = $"unknown language '{spec.Language}'";
            return null;
        }
        if (spec.Network && !allowNetwork)
        {
            // An API node with AllowNetwork let it in; run without, and the job would fail in ways that name nothing.
            error = "the job asks for network, which this worker does not allow (Runbox:AllowNetwork must be set on every node)";
            return null;
        }
        error = null;
        return new JobRequest
        {
            Id = job.Id,
            Language = language,
            Script = spec.Script,
            Files = spec.Files,
            Entrypoint = spec.Entrypoint,
            Runtime = spec.Runtime,
            Args = spec.Args,
            Stdin = spec.Stdin,
            Environment = spec.Env,
            ArtifactDirectory = artifactDirectory,
            WorkingDirectory = spec.WorkingDirectory,
            Network = spec.Network,
            Fresh = spec.Fresh,
            Limits = new JobLimits
            {
                Timeout = spec.TimeoutSeconds is { } timeout ? TimeSpan.FromSeconds(timeout) : null,
                CpuSeconds = spec.CpuSeconds,
                MemoryBytes = spec.MemoryMb * Mb,
                Processes = spec.Processes,
                OutputBytes = spec.OutputBytes,
                FileSizeBytes = spec.FileSizeMb * Mb,
                DiskBytes = spec.DiskMb * Mb,
            },
        };
    }
}
