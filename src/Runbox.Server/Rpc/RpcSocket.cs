using System.Net.Sockets;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Runbox.Execution.Native;
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

    /// <summary>rw for the server's user and group: whoever may open the file may call, as admin.</summary>
    private const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

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
        // Kestrel binds and listens in one go, and bind() makes the file with the umask's mode (0777 under umask 000):
        // set afterwards, 0660 came after other users could connect, and keep their connections. Bound here, the mode
        // is set before Kestrel listens; until then a connect is refused.
        builder.WebHost.UseSockets(sockets => sockets.CreateBoundListenSocket = endpoint =>
            endpoint is UnixDomainSocketEndPoint unix && unix.ToString() == path ? BindOwnerAndGroupOnly(unix, path) : SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint));
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
            RemoveStale(path, kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RpcSocket).FullName!));
        });
    }

    /// <summary>
    /// On the socket's endpoint, notes each connection while it is open (<see cref="IsSocketRequest"/>) and returns true;
    /// false for any other endpoint. Kestrel keeps one set of endpoint defaults, so the app calls this from its own.
    /// </summary>
    public static bool TrackIfSocket(ListenOptions listen, RunboxOptions options)
    {
        if (PathFor(options) is not { } path || listen.SocketPath != path)
        {
            return false;
        }
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
        return true;
    }

    /// <summary>
    /// Paths this process bound a socket to. Only those are removed at stop: a start that failed must leave what it found
    /// at its path (another server's socket, a folder) where it was.
    /// </summary>
    private static readonly ConcurrentDictionary<string, bool> BoundPaths = new();

    /// <summary>Removes the socket file when the server stops.</summary>
    public static void UseRpcSocket(this WebApplication app)
    {
        var path = PathFor(app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RunboxOptions>>().Value);
        if (path is null)
        {
            return;
        }
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            if (BoundPaths.TryRemove(path, out _))
            {
                File.Delete(path);
            }
        });
    }

    /// <summary>The socket bound to <paramref name="path"/> with mode 0660, not yet listening.</summary>
    private static Socket BindOwnerAndGroupOnly(UnixDomainSocketEndPoint endpoint, string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(endpoint);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            // A folder at the path (RemoveStale looks for files only), or another server made the file since it looked
            // (two started at once on one path).
            socket.Dispose();
            throw new IOException(Directory.Exists(path)
                ? $"{path} is a folder, not a socket; give another path with --socket."
                : $"Another server listens on {path}; stop it or give another path with --socket.", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        try
        {
            File.SetUnixFileMode(path, Mode);
            BoundPaths[path] = true;
        }
        catch
        {
            socket.Dispose();
            File.Delete(path);
            throw;
        }
        return socket;
    }

    /// <summary>
    /// A socket file left by a killed server (one that refuses connections) is removed; one a live server answers on is
    /// not taken over, nor is anything else found at the path.
    /// </summary>
    private static void RemoveStale(string path, ILogger logger)
    {
        if (!File.Exists(path))
        {
            return;
        }
        // Only a socket is ours to replace. connect(2) is refused by any file that is not a socket, an empty one too (a
        // pid or lock file given as --socket by mistake was deleted as stale), and follows a link to wherever it points.
        if (Libc.TypeOf(path) is { } type && type != Libc.S_IFSOCK)
        {
            throw new IOException(new FileInfo(path).LinkTarget is not null
                ? $"{path} is a symbolic link, not a socket; give another path with --socket."
                : $"{path} is a file, not a socket; give another path with --socket.");
        }
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            File.Delete(path);
            ServerLog.StaleSocketRemoved(logger, path);
            return;
        }
        catch (SocketException e)
        {
            // Not refused: denied (another user's socket) or the like; whether a server is behind it is not known.
            throw new IOException($"{path} exists and cannot be tried ({e.Message}); remove it if no server uses it, or give another path with --socket.", e);
        }
        throw new IOException($"Another server listens on {path}; stop it or give another path with --socket.");
    }
}
