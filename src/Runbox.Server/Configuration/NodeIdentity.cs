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
    public string Name { get; } = options.Value.NodeName is { Length: > 0 } name
        ? name
        : $"{Environment.MachineName}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(data.Root)))[..6]}";
}
