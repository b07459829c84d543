namespace Runbox.Storage.Artifacts;

/// <summary>A file a job left behind, kept by the store. <see cref="Name"/> is relative, '/'-separated.</summary>
public sealed record ArtifactRecord(string JobId, string Name, long Size, DateTimeOffset CreatedAt);
