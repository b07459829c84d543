namespace Runbox.Server.Runtimes;

/// <summary>Where packages come from (<c>Runbox:Packages</c>): an index, a local wheel folder, or nothing but that folder.</summary>
public sealed class PackageOptions
{
    /// <summary>The package index (pip's --index-url); the tool's own default when empty.</summary>
    public string? IndexUrl { get; set; }

    /// <summary>A folder (or URL) of wheels to install from (pip's --find-links).</summary>
    public string? FindLinks { get; set; }

    /// <summary>Never reach an index: install only from <see cref="FindLinks"/> (pip's --no-index, uv's --offline).</summary>
    public bool Offline { get; set; }
}
