namespace Runbox.Storage.Artifacts;

/// <summary>An artifact larger than the store keeps; nothing was saved. Servers answer it with 413.</summary>
public sealed class ArtifactTooLargeException(string jobId, string name, long limitBytes)
    : IOException($"Artifact '{name}' of job {jobId} is larger than the store's limit of {limitBytes} bytes.")
{
    public string JobId { get; } = jobId;

    public string Name { get; } = name;

    public long LimitBytes { get; } = limitBytes;
}
