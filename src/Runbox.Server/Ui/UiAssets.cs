using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;

namespace Runbox.Server.Ui;

/// <summary>One file of the web UI, read once from the assembly.</summary>
public sealed record UiAsset(byte[] Content, string ContentType, string ETag);

/// <summary>
/// The web UI's files, embedded in the assembly (resources named <c>ui/PATH</c>), so <c>runbox serve</c> finds them
/// wherever its output folder is and nothing has to be copied beside it.
/// </summary>
public sealed class UiAssets
{
    private const string Prefix = "ui/";
    private readonly FrozenDictionary<string, UiAsset> _assets;

    public UiAssets()
    {
        var assembly = typeof(UiAssets).Assembly;
        var types = new FileExtensionContentTypeProvider();
        var assets = new Dictionary<string, UiAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            var content = Read(assembly, name);
            var path = name[Prefix.Length..];
            var type = types.TryGetContentType(path, out var known) ? known : "application/octet-stream";
            if (type.StartsWith("text/", StringComparison.Ordinal) || type.EndsWith("javascript", StringComparison.Ordinal))
            {
                type += "; charset=utf-8";
            }
            assets[path] = new UiAsset(content, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"");
        }
        _assets = assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public UiAsset? Find(string path) => _assets.GetValueOrDefault(path);

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
