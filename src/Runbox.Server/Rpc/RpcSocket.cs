using System.Net;
using System.Net.Sockets;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Runbox.Server.Configuration;

namespace Runbox.Server.Rpc;

/// <summary>
/// The Unix socket (<c>--socket PATH</c>, default <c>&lt;data&gt;/runbox.sock</c>, mode 0660). Kestrel listens on it
/// beside the HTTP addresses, so both share one pipeline; a request that came in on the socket is authenticated as
/// admin, the file's permission being the authentication.
/// </summary>
public static class RpcSocket
{
    public const string Disabled = "none";

    /// <summary>Unix socket paths hold at most 107 bytes.</summary>
    private const int MaxPathBytes = 107;

    /// <summary>The socket's path for these options, or null when disabled.</summary>
    public static string? PathFor(RunboxOptions options)
    {
        if (options.Socket is { } configured)
        {
            return configured.Length == 0 || configured == Disabled ? null : Path.GetFullPath(configured);
        }
        return Path.Combine(Path.GetFullPath(options.DataDirectory), "runbox.sock");
    }

    /// <summary>Connections open on the socket, by Kestrel's connection id (unique within the process).</summary>
    private static readonly ConcurrentDictionary<string, bool> SocketConnections = new();

    /// <summary>
    /// Whether this request arrived on the Unix socket. Kestrel does not pass the connection's endpoint to the request,
    /// so the socket's own connection middleware notes each connection id while it is open.
    /// </summary>
    public static bool IsSocketRequest(HttpContext http) => SocketConnections.ContainsKey(http.Connection.Id);

    /// <summary>
    /// Listens on the HTTP addresses (<c>--urls</c>) and on the socket. Kestrel ignores --urls once any endpoint is set
    /// in code, so the addresses are bound here too.
    /// </summary>
    public static void Listen(KestrelServerOptions kestrel, IConfiguration configuration, RunboxOptions options)
    {
        var path = PathFor(options);
        if (path is null)
        {
            return;
        }
        var urls = configuration["urls"] is { Length: > 0 } given ? given : "http://localhost:5000";
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            ListenOn(kestrel, url);
        }
        if (System.Text.Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
        {
            throw new InvalidOperationException($"The socket path {path} is longer than {MaxPathBytes} bytes; give a shorter one with --socket.");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        RemoveStale(path);
        kestrel.ListenUnixSocket(path, listen => listen.Use(next => async connection =>
        {
            SocketConnections[connection.ConnectionId] = true;
            try
            {
                await next(connection);
            }
            finally
            {
                SocketConnections.TryRemove(connection.ConnectionId, out _);
            }
        }));
    }

    /// <summary>Sets mode 0660 once Kestrel has made the file, and removes it when the server stops.</summary>
    public static void UseRpcSocket(this WebApplication app)
    {
        var path = PathFor(app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RunboxOptions>>().Value);
        if (path is null)
        {
            return;
        }
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            if (File.Exists(path))
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
            }
        });
        app.Lifetime.ApplicationStopped.Register(() => File.Delete(path));
    }

    private static void ListenOn(KestrelServerOptions kestrel, string url)
    {
        if (url.StartsWith("http://unix:", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenUnixSocket(url["http://unix:".Length..]);
            return;
        }
        // "+" and "*" are not valid URI hosts; they mean every address, as Kestrel reads them.
        var normalized = url.Replace("://+", "://any-address", StringComparison.Ordinal).Replace("://*", "://any-address", StringComparison.Ordinal);
        if (!Uri.TryCreate(normalized, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new InvalidOperationException($"Cannot listen on '{url}': with the Unix socket on, --urls takes http:// addresses only (use --socket none otherwise).");
        }
        var port = uri.IsDefaultPort && !url.Contains(":80", StringComparison.Ordinal) ? 80 : uri.Port;
        var host = uri.Host.Trim('[', ']');
        if (host == "localhost")
        {
            kestrel.ListenLocalhost(port);
        }
        else if (IPAddress.TryParse(host, out var address) && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any))
        {
            kestrel.Listen(address, port);
        }
        else
        {
            kestrel.ListenAnyIP(port);
        }
    }

    /// <summary>A socket file left by a killed server is removed; one a live server answers on is not taken over.</summary>
    private static void RemoveStale(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            File.Delete(path);
            return;
        }
        throw new InvalidOperationException($"Another server listens on {path}; stop it or give another path with --socket.");
    }
}
