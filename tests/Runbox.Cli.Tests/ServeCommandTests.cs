using System.Net;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Runbox.Cli.Tests;

/// <summary><c>runbox serve</c> as a user starts it: the built CLI in its own process.</summary>
public sealed class ServeCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "runbox-serve-tests-" + Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public async Task Serve_ExitsWithAMessage_WhenItsAddressIsTaken()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";

        var (code, stderr, stdout) = await ServeAsync("--urls", url, "--data", _data);

        Assert.Equal(1, code);
        Assert.Contains($"runbox: cannot start: Failed to bind to address {url}: address already in use.", stderr);
        AssertNoStackTrace(stderr + stdout);
    }

    [Fact]
    public async Task Serve_ShowsTheAdminKeyOnTheFirstStartThatServes_WhenTheFirstCouldNotBindItsAddress()
    {
        using (var taken = new TcpListener(IPAddress.Loopback, 0))
        {
            taken.Start();
            var (code, _, stdout) = await ServeAsync("--urls", $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}", "--data", _data);

            Assert.Equal(1, code);
            Assert.DoesNotContain("Admin API key", stdout);
        }
        var keyFile = Path.Combine(_data, "admin.key");
        var key = (await File.ReadAllTextAsync(keyFile)).Trim();

        Assert.Equal([$"Admin API key (shown once, saved to {keyFile}): {key}"], await AdminKeyLinesOfAServingStartAsync());
        Assert.Empty(await AdminKeyLinesOfAServingStartAsync());
    }

    [Fact]
    public async Task Serve_ExitsWithAMessage_WhenTheStoreCannotBeReached()
    {
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop(); // nothing listens there now: the connection is refused at once

        var (code, stderr, stdout) = await ServeAsync("--urls", "http://127.0.0.1:0", "--data", _data,
            "--store", $"Host=127.0.0.1;Port={port};Database=runbox;Username=runbox;Password=x;Timeout=5");

        Assert.Equal(1, code);
        Assert.Contains("runbox: cannot start: Failed to connect to 127.0.0.1", stderr);
        AssertNoStackTrace(stderr + stdout);
    }

    // Without a socket in the data folder to fail first (`--socket none`, or a worker node, which has none), the folder
    // fails as the host makes its services, and stopping that host printed a stack trace under the message.
    [Theory]
    [InlineData("serve")]
    [InlineData("serve", "--socket", "none")]
    [InlineData("worker", "--store", "Host=127.0.0.1;Port=9;Database=runbox;Username=runbox;Password=x;Timeout=5")]
    public async Task Node_ExitsWithAMessage_WhenTheDataFolderCannotBeMade(string command, params string[] extra)
    {
        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null,
            [command, "--urls", "http://127.0.0.1:0", "--data", "/proc/runbox-data", .. extra], TimeSpan.FromSeconds(90));
        output.WriteLine(stdout + stderr);

        Assert.Equal(1, code);
        Assert.Contains("runbox: cannot start: The data folder /proc/runbox-data cannot be made or written: ", stderr);
        AssertNoStackTrace(stderr + stdout);
    }

    [Fact]
    public async Task Serve_ExitsWithAMessage_WhenANewerRunboxMigratedItsDatabase()
    {
        await using (var store = new Runbox.Storage.Sqlite.SqliteJobStore(_data))
        {
            await store.MigrateAsync();
        }
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_data, "runbox.db")};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var future = connection.CreateCommand();
            future.CommandText = "INSERT INTO schema_version (version, applied_at) VALUES (999, 0)";
            await future.ExecuteNonQueryAsync();
        }

        var (code, stderr, stdout) = await ServeAsync("--urls", "http://127.0.0.1:0", "--data", _data);

        Assert.Equal(1, code);
        Assert.Contains("runbox: cannot start: The database runbox.db has schema version 999, which this Runbox does not know", stderr);
        AssertNoStackTrace(stderr + stdout);
    }

    [Fact]
    public async Task Serve_ExitsWithAMessage_WhenAnotherServerListensOnItsSocket()
    {
        var path = Path.Combine(Path.GetTempPath(), $"runbox-taken-{Guid.NewGuid():N}.sock");
        using var other = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        other.Bind(new UnixDomainSocketEndPoint(path));
        other.Listen();
        try
        {
            var (code, stderr, stdout) = await ServeAsync("--urls", "http://127.0.0.1:0", "--data", _data, "--socket", path);

            Assert.Equal(1, code);
            Assert.Contains($"runbox: cannot start: Another server listens on {path}; stop it or give another path with --socket.", stderr);
            AssertNoStackTrace(stderr + stdout);
            Assert.True(File.Exists(path), "the other server's socket was left in place");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("file", "keep me")]
    [InlineData("file", "")]
    [InlineData("folder", null)]
    [InlineData("symbolic link", "")]
    public async Task Serve_ExitsWithAMessage_AndKeepsWhatIsThere_WhenItsSocketPathIsAFileOrFolder(string what, string? content)
    {
        // Until 2026-12-05 anything at the path that refused a connection was deleted as a stale socket: a file given
        // as --socket by mistake was lost; a folder there was "address already in use". Later that day an empty file (a
        // pid or lock file: connect(2) is refused by any file that is not a socket) was still deleted, as was a link.
        var path = Path.Combine(_data, "notes");
        var target = Path.Combine(_data, "target");
        Directory.CreateDirectory(what == "folder" ? path : _data);
        if (what == "file")
        {
            await File.WriteAllTextAsync(path, content);
        }
        if (what == "symbolic link")
        {
            await File.WriteAllTextAsync(target, content);
            File.CreateSymbolicLink(path, target);
        }

        var (code, stderr, stdout) = await ServeAsync("--urls", "http://127.0.0.1:0", "--data", _data, "--socket", path);

        Assert.Equal(1, code);
        Assert.Contains($"runbox: cannot start: {path} is a {what}, not a socket; give another path with --socket.", stderr);
        AssertNoStackTrace(stderr + stdout);
        Assert.True(what switch
        {
            "file" => File.ReadAllText(path) == content,
            "folder" => Directory.Exists(path),
            _ => new FileInfo(path).LinkTarget == target && File.Exists(target),
        });
    }

    [Theory]
    [InlineData("serve", "--wrokers", "2")]
    [InlineData("worker", "--stroe=Host=x", "")]
    public async Task Node_ExitsWith2NamingAMisspeltOption_RatherThanStartWithoutIt(string command, string option, string value)
    {
        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null, [command, "--urls", "http://127.0.0.1:0", "--data", _data, option, .. value.Length > 0 ? new[] { value } : []],
            TimeSpan.FromSeconds(90));
        output.WriteLine(stdout + stderr);

        Assert.Equal(2, code);
        Assert.Contains($"runbox: unknown option '{option.Split('=')[0]}'", stderr);
    }

    [Fact]
    public async Task Serve_ExitsWith2NamingTheNearestSetting_WhenASettingIsMisspelt()
    {
        // The client's own variables share the RUNBOX_ prefix; they are no server setting and must not be refused.
        var client = new Dictionary<string, string> { ["RUNBOX_SERVER"] = "http://127.0.0.1:9", ["RUNBOX_KEY"] = "rbx_x" };
        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null,
            ["serve", "--urls", "http://127.0.0.1:0", "--data", _data, "--Runbox:LeaseSecond=5", "--Runbox:Maximums:Memry=5"], TimeSpan.FromSeconds(90), client);
        output.WriteLine(stdout + stderr);

        Assert.Equal(2, code);
        Assert.Contains("Runbox:LeaseSecond is not a setting; did you mean Runbox:LeaseSeconds?", stderr);
        Assert.Contains("Runbox:Maximums:Memry is not a setting", stderr);
        Assert.DoesNotContain("SERVER", stderr);
        Assert.DoesNotContain("Runbox:KEY", stderr, StringComparison.OrdinalIgnoreCase);
    }

    // Thrown from the store's constructor, these were an unhandled exception and exit 1, which a service manager restarts
    // for good; an invalid configuration is exit 2, which deploy/'s units do not restart.
    [Theory]
    [InlineData("serve", "Host=127.0.0.1;Pasword=sekrit-1;Database=runbox", "'pasword' is no keyword Npgsql knows")]
    [InlineData("worker", "Host=127.0.0.1;Port=five;Password=sekrit-1", "'port' is no keyword Npgsql knows, or its value does not convert")]
    [InlineData("worker", "Host=127.0.0.1;Password=sekrit-1;sekrit-2;Username=runbox", "it is not a list of Keyword=value separated by ';'")]
    public async Task Node_ExitsWith2NamingTheStore_WhenItsConnectionStringDoesNotParse(string command, string store, string why)
    {
        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null,
            [command, "--urls", "http://127.0.0.1:0", "--data", _data, "--store", store], TimeSpan.FromSeconds(90));
        output.WriteLine(stdout + stderr);

        Assert.Equal(2, code);
        Assert.Contains("runbox: invalid configuration:", stderr);
        Assert.Contains($"Runbox:Store (--store or RUNBOX_STORE) is not a valid PostgreSQL connection string: {why}", stderr);
        Assert.DoesNotContain("sekrit", stdout + stderr, StringComparison.OrdinalIgnoreCase);
        AssertNoStackTrace(stderr + stdout);
    }

    // The framework's exception for it was an unhandled one with a stack trace and exit 1, which a service manager
    // restarts for good.
    [Theory]
    [InlineData("serve")]
    [InlineData("worker", "--store", "Host=127.0.0.1;Port=9;Database=runbox;Username=runbox;Password=x")]
    public async Task Node_ExitsWith2NamingTheFile_WhenAppsettingsJsonIsNoJson(string command, params string[] extra)
    {
        Directory.CreateDirectory(_data);
        var settings = Path.Combine(_data, "appsettings.json");
        await File.WriteAllTextAsync(settings, "{ \"Runbox\": { \"Workers\": 3, }");
        // appsettings.json is read from the content root: the working directory, or this variable.
        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null,
            [command, "--urls", "http://127.0.0.1:0", "--data", Path.Combine(_data, "data"), .. extra], TimeSpan.FromSeconds(90),
            new Dictionary<string, string> { ["DOTNET_CONTENTROOT"] = _data });
        output.WriteLine(stdout + stderr);

        Assert.Equal(2, code);
        Assert.Contains($"runbox: invalid configuration: Failed to load configuration from file '{settings}'.", stderr);
        Assert.Contains("LineNumber: 0", stderr);
        AssertNoStackTrace(stderr + stdout);
    }

    [Fact]
    public async Task Serve_ExitsWith2NamingTheSetting_WhenAValueDoesNotConvert()
    {
        var (code, stderr, stdout) = await ServeAsync("--urls", "http://127.0.0.1:0", "--data", _data, "--Runbox:Maximums:TimeoutSeconds=abc");

        Assert.Equal(2, code);
        Assert.Contains("runbox: invalid configuration:", stderr);
        Assert.Contains("'abc' at 'Runbox:Maximums:TimeoutSeconds'", stderr);
        AssertNoStackTrace(stderr + stdout);
    }

    // A value that did not convert used to stop the binder and hide every other error: a user fixed one setting only to
    // be refused for the next, one start at a time.
    [Fact]
    public async Task Serve_ListsEveryError_WhenAValueDoesNotConvertBesideOtherErrors()
    {
        var (code, stderr, stdout) = await ServeAsync("--urls", "http://127.0.0.1:0", "--data", _data,
            "--Runbox:Workers=abc", "--Runbox:Maximums:TimeoutSeconds=xyz", "--Runbox:RetentionDays=-1", "--Runbox:LeaseSecond=5");

        Assert.Equal(2, code);
        Assert.Contains("'abc' at 'Runbox:Workers'", stderr);
        Assert.Contains("'xyz' at 'Runbox:Maximums:TimeoutSeconds'", stderr);
        Assert.Contains("Runbox:RetentionDays must be between 0", stderr);
        Assert.Contains("Runbox:LeaseSecond is not a setting; did you mean Runbox:LeaseSeconds?", stderr);
        AssertNoStackTrace(stderr + stdout);
    }

    [Fact]
    public async Task Serve_ExitsWith2SayingWhatUrlsTakes_WhenAnAddressCannotBeParsed()
    {
        var (code, stderr, stdout) = await ServeAsync("--urls", "notaurl", "--data", _data);

        Assert.Equal(2, code);
        Assert.Contains("runbox: invalid configuration: Invalid url: 'notaurl'; --urls takes addresses such as http://127.0.0.1:8000", stderr);
        AssertNoStackTrace(stderr + stdout);
    }

    [Theory]
    [InlineData("/tmp/runbox:tests.sock", "holds a ':' or ';'")]
    [InlineData("/tmp/runbox-tests-a-socket-path-well-beyond-what-the-address-of-a-unix-socket-can-hold-which-is-107-bytes.sock", "is longer than 107 bytes")]
    public async Task Serve_ExitsWith2NamingTheSocketSetting_WhenNoSocketCanBeAtThatPath(string socket, string why)
    {
        var (code, stderr, stdout) = await ServeAsync("--urls", "http://127.0.0.1:0", "--data", _data, "--socket", socket);

        Assert.Equal(2, code);
        Assert.Contains("runbox: invalid configuration:", stderr);
        Assert.Contains($"Runbox:Socket: the socket path {socket} {why}", stderr);
        AssertNoStackTrace(stderr + stdout);
    }

    private async Task<(int ExitCode, string Stderr, string Stdout)> ServeAsync(params string[] args)
    {
        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null, ["serve", .. args], TimeSpan.FromSeconds(90));
        output.WriteLine(stdout);
        output.WriteLine(stderr);
        return (code, stderr, stdout);
    }

    /// <summary>Starts <c>runbox serve</c> on the data folder until it has started, then kills it: the lines showing an admin key.</summary>
    private async Task<List<string>> AdminKeyLinesOfAServingStartAsync()
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "runbox.dll"), "serve", "--urls", "http://127.0.0.1:0", "--data", _data, "--socket", "none" })
        {
            start.ArgumentList.Add(arg);
        }
        using var process = System.Diagnostics.Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            // The host's own line after every hosted service started, the server's StartedAsync included.
            while (await process.StandardOutput.ReadLineAsync(deadline.Token) is { } line && !line.Contains("Application started", StringComparison.Ordinal))
            {
                output.WriteLine(line);
                lines.Add(line);
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            output.WriteLine(await stderr);
        }
        Assert.Contains(lines, l => l.Contains("Now listening on", StringComparison.Ordinal));
        return lines.Where(l => l.Contains("Admin API key", StringComparison.Ordinal)).ToList();
    }

    /// <summary>Neither stream: the log on stdout must not repeat the failure as a trace either.</summary>

    private static void AssertNoStackTrace(string output)
    {
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.DoesNotContain("   at ", output);
    }

    public void Dispose() => Runbox.Testing.ServerFolders.Remove(_data);
}
