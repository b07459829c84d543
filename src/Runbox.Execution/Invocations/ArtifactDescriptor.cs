namespace Runbox.Execution.Invocations;

/// <summary>A file an invocation produced.</summary>
/// <param name="Id">Stable within one result: the file's path relative to where it was produced, '/' separated.</param>
/// <param name="Path">Where the file can be read now.</param>
/// <param name="Kind">What sort of thing it is; the built-in runners use <c>file</c>.</param>
/// <param name="Description">A sentence for people, or null.</param>
/// <param name="Metadata">Facts about the file (the built-in runners give <c>size</c> in bytes), or null.</param>
public sealed record ArtifactDescriptor(
    string Id,
    string Path,
    string Kind = "file",
    string? Description = null,
    IReadOnlyDictionary<string, string>? Metadata = null);
