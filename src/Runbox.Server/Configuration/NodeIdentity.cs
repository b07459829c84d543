using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Runbox.Server.Configuration;

/// <summary>
/// This node's name: what it registers as, and the prefix of its slots' claims (<c>name/slot</c>). The default is
/// stable across restarts (host and data folder), so a restarted node recognises the jobs it was running when it died,
/// and apart for two nodes on one host with their own data folders.
/// </summary>
public sealed class NodeIdentity(IOptions<RunboxOptions> options, DataFolder data)
{
    private readonly Lazy<string> _instance = new(() => ReadOrMakeInstance(Path.Combine(data.Root, "node.id")));

    public string Name { get; } = options.Value.NodeName is { Length: > 0 } name
        ? name
        : $"{Environment.MachineName}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(data.Root)))[..6]}";

    /// <summary>
    /// Which node holds <see cref="Name"/>: a random id made at the data folder's first start and kept in it, so a node
    /// restarted on its folder (the folder's lock says the one before is gone) is told from another given the same name.
    /// </summary>
    public string Instance => _instance.Value;

    private static string ReadOrMakeInstance(string file)
    {
        if (File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } kept)
        {
            return kept;
        }
        var made = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        File.WriteAllText(file, made + "\n");
        return made;
    }
}
