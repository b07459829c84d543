using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Runbox.Server.Http;

/// <summary>
/// Runbox:MaxConnectionsPerClient: how many connections one client holds open at once over HTTP, all TCP addresses together.
/// Kestrel's own cap (Runbox:MaxConnections) counts every client of an address together, so a single client, before
/// any key is looked at, could hold all of them and lock every other client (admins included) out of HTTP.
/// </summary>
internal sealed class ClientConnectionLimit(int perClient, ILogger logger)
{
    /// <summary>Open connections by client; an entry goes when its last connection closes.</summary>
    private readonly ConcurrentDictionary<IPAddress, int> open = new();

    /// <summary>Counts the connections of each client of this TCP address with the others'; one past the cap is closed unanswered.</summary>
    public void Apply(ListenOptions listen) => listen.Use(next => async connection =>
    {
        if (connection.RemoteEndPoint is not IPEndPoint remote)
        {
            await next(connection);
            return;
        }
        var client = ClientOf(remote.Address);
        if (open.AddOrUpdate(client, 1, (_, count) => count + 1) > perClient)
        {
            Leave(client);
            Say(client);
            // Returning closes the connection before any byte is read or written, as Kestrel's own cap does.
            return;
        }
        try
        {
            await next(connection);
        }
        finally
        {
            Leave(client);
        }
    });

    /// <summary>Refusals since the last logged one, and when that was (Environment.TickCount64).</summary>
    private long refusedUnsaid;
    private long lastSaid = long.MinValue / 2; // never: far enough back that now - lastSaid cannot overflow

    /// <summary>
    /// Logs a refusal at most once every <see cref="LogEvery"/>, with how many were refused since: a client refused by the
    /// thousand a second would otherwise write a line for each, and fill the disk the log goes to.
    /// </summary>
    private void Say(IPAddress client)
    {
        var refused = Interlocked.Increment(ref refusedUnsaid);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref lastSaid);
        if (now - last < (long)LogEvery.TotalMilliseconds || Interlocked.CompareExchange(ref lastSaid, now, last) != last)
        {
            return;
        }
        ServerLog.ClientConnectionRefused(logger, client.ToString(), perClient, Interlocked.Exchange(ref refusedUnsaid, 0), (int)LogEvery.TotalSeconds);
    }

    internal static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(10);

    private void Leave(IPAddress client)
    {
        while (true)
        {
            var count = open[client];
            if (count == 1 ? open.TryRemove(KeyValuePair.Create(client, 1)) : open.TryUpdate(client, count - 1, count))
            {
                return;
            }
        }
    }

    /// <summary>
    /// The client a connection counts for: an IPv4 address (also when it comes mapped into IPv6), or an IPv6 address's
    /// /64, since one host is commonly given a whole /64 and could otherwise take a fresh address per connection.
    /// </summary>
    internal static IPAddress ClientOf(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }
}
