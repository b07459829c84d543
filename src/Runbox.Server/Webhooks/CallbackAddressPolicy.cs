using System.Net;
using System.Net.Sockets;

namespace Runbox.Server.Webhooks;

/// <summary>
/// Which callback targets are allowed. Loopback, private, link-local and other internal addresses are refused
/// unless configuration allows them, so a job's owner cannot make the server call into its own network.
/// Checked on submit (the URL) and again on connect (every resolved address), which defeats DNS rebinding.
/// </summary>
public static class CallbackAddressPolicy
{
    /// <summary>Why the URL is refused, or null when it may be used.</summary>
    public static string? CheckUrl(string url, bool allowPrivate)
    {
        if (url.Length > 2048)
        {
            return "must be at most 2048 characters.";
        }
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return "must be an absolute http or https URL.";
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "must not carry credentials.";
        }
        if (allowPrivate)
        {
            return null;
        }
        // "localhost." is the same name fully qualified, which Uri.IsLoopback does not know (the dial refused it, the
        // submit did not).
        var host = uri.IdnHost.TrimEnd('.');
        if (uri.IsLoopback || host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return "must not point at a loopback address (allowed only when Runbox:Webhooks:AllowPrivateAddresses is set).";
        }
        if (IPAddress.TryParse(host, out var address) && IsInternal(address))
        {
            return "must not point at a private or internal address (allowed only when Runbox:Webhooks:AllowPrivateAddresses is set).";
        }
        return null;
    }

    public static bool IsInternal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return true;
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] switch
            {
                0 or 10 or 127 => true,
                100 => b[1] >= 64 && b[1] < 128, // carrier-grade NAT
                169 => b[1] == 254, // link-local, cloud metadata
                172 => b[1] >= 16 && b[1] < 32,
                192 => (b[1] == 168) || (b[1] == 0 && b[2] == 0),
                198 => b[1] is 18 or 19,
                >= 224 => true, // multicast and reserved
                _ => false,
            };
        }
        if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast)
        {
            return true;
        }
        // IPv6 addresses that carry an IPv4 one, which a NAT64 gateway, a 6to4 relay or the host's sit tunnel delivers to:
        // judged by the IPv4 address inside (64:ff9b::10.0.0.1 is 10.0.0.1). The local-use NAT64 prefix and IPv4-compatible
        // addresses (deprecated) reach no public address at all.
        var v6 = address.GetAddressBytes();
        if (v6[0] == 0x00 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b)
        {
            return v6.AsSpan(4, 8).ContainsAnyExcept((byte)0) || IsInternal(new IPAddress(v6.AsSpan(12, 4)));
        }
        if (v6[0] == 0x20 && v6[1] == 0x02)
        {
            return IsInternal(new IPAddress(v6.AsSpan(2, 4)));
        }
        return !v6.AsSpan(0, 12).ContainsAnyExcept((byte)0);
    }
}
