using System.Net.Sockets;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
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
    /// Why there can be no socket at <paramref name="path"/>, or null: a Unix socket's address holds at most 107 bytes,
    /// and Kestrel reads its address (<c>http://unix:PATH</c>) only up to a ':' and splits address lists at ';'.
    /// </summary>
    public static string? Unusable(string path)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
        {
            return $"the socket path {path} is longer than {MaxPathBytes} bytes; give a shorter one with --socket (or --socket none).";
        }
        return path.IndexOfAny([':', ';']) >= 0
            ? $"the socket path {path} holds a ':' or ';', which the server cannot listen on; give another one with --socket (or --socket none)."
            : null;
    }

    /// <summary>
    /// Listens on the socket beside the HTTP addresses (<c>--urls</c>, Kestrel's default when none). Kestrel binds
    /// either its addresses or endpoints set in code, and warns at every start when it is given both; so the socket
    /// joins the addresses, and its connections are told apart by its path.
    /// </summary>
    public static void Listen(WebApplicationBuilder builder, RunboxOptions options)
    {
        var path = PathFor(options);
        if (path is null)
        {
            return;
        }
        var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } given ? given : "http://localhost:5000";
        builder.WebHost.UseUrls($"{urls};http://unix:{path}");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // The path was checked with the other settings (Unusable), before the server started. The data folder is made
            // and locked when the app is built (RunboxApp.Build); resolving it here again keeps that order plain: its lock
            // is held before a stale socket in it is removed (a second process must not touch the first's).
            _ = kestrel.ApplicationServices.GetRequiredService<DataFolder>();
            var folder = Path.GetDirectoryName(path)!;
            try
            {
                Directory.CreateDirectory(folder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"The socket's folder {folder} cannot be made or written: {e.Message}", e);
            }
            RemoveStale(path);
            kestrel.ConfigureEndpointDefaults(listen =>
            {
                if (listen.SocketPath == path)
                {
                    listen.Use(next => async connection =>
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
                    });
                }
            });
        });
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
        throw new IOException($"Another server listens on {path}; stop it or give another path with --socket.");
    }
}
