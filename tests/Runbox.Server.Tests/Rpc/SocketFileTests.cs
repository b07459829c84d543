using Runbox.Server.Tests.Infrastructure;
using Runbox.Testing;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Rpc;

/// <summary>The JSON-RPC socket's file: who can reach it from the moment it exists (its mode is the only authentication), and one a killed server left.</summary>
public sealed class SocketFileTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Socket_IsNeverReachableByAnotherUser_WhenServeStartsUnderAPermissiveUmask()
    {
        OtherUser.Require();
        using var folder = new TempFolder();
        var data = Path.Combine(folder.Path, "data");
        var socket = Path.Combine(data, "runbox.sock");
        // Run as nobody from before the server starts: connect to the socket as often as it can, until the file has its
        // mode 0660. Exit 0: it got a connection (the server accepts before it sets the mode); 1: it never did.
        var watcher = Path.Combine(folder.Path, "watch.py");
        await File.WriteAllTextAsync(watcher, $$"""
            import os, socket, stat, sys, time
            path = {{System.Text.Json.JsonSerializer.Serialize(socket)}}
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(path)
                    sys.exit(0)
                except OSError:
                    pass
                finally:
                    s.close()
                try:
                    if stat.S_IMODE(os.stat(path).st_mode) == 0o660:
                        sys.exit(1)
                except FileNotFoundError:
                    pass
                time.sleep(0.001)
            sys.exit(2)
            """);
        var reached = OtherUser.ExitCodeAsync("/usr/bin/python3", watcher);

        var port = ServeProcess.FreePort();
        await using var serve = await ServeProcess.StartCommandAsync(
            ["serve", "--urls", $"http://127.0.0.1:{port}", "--data", data], port, output, "serve", umask: "000");
        var watched = await reached.WaitAsync(TimeSpan.FromSeconds(150));
        var afterStart = await OtherUser.ExitCodeAsync("/usr/bin/python3", watcher);

        // Until 2026-12-05 Kestrel made the file (0777 under umask 000) and listened, and its mode was set only once
        // the server had started: nobody connected, and kept the connection.
        Assert.Equal(1, watched);
        Assert.Equal(1, afterStart);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(socket));
    }

    [Fact]
    public async Task Serve_ReplacesTheSocketAKilledServerLeft_AndSaysSo()
    {
        using var data = new TempFolder();
        var path = Path.Combine(data.Path, "runbox.sock");
        // What a killed server leaves: the file of a socket nobody listens on any more. (.NET removes the file when a
        // socket it bound is disposed; a process that dies, as python3's here, does not.)
        using (var bind = System.Diagnostics.Process.Start("/usr/bin/python3", ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path]))
        {
            await bind.WaitForExitAsync();
        }
        Assert.True(File.Exists(path));

        var port = ServeProcess.FreePort();
        await using var serve = await ServeProcess.StartAsync(data.Path, port, output);
        using var socket = RpcServerFixture.SocketClient(path);
        var discovery = await socket.GetAsync("/discovery");

        Assert.Equal(System.Net.HttpStatusCode.OK, discovery.StatusCode);
        Assert.Contains(serve.Output, line => line.Contains($"Removed the socket file {path} a stopped server had left", StringComparison.Ordinal));
    }
}
