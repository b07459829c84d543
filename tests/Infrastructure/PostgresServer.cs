using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Runbox.Testing;

/// <summary>
/// A throwaway PostgreSQL cluster: initdb into a temp folder, a free port on 127.0.0.1 and a Unix socket in that
/// folder, stopped and deleted at the end. Never a system-started server. As root, the server runs as the
/// <c>postgres</c> user (it refuses root). RUNBOX_TEST_POSTGRES_BIN picks the folder holding initdb and pg_ctl when they
/// live elsewhere. Shared by the storage tests, the cluster system tests and the cluster benchmark (linked, not a project).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string Superuser = "runbox";
    private string? folder;
    private string? bin;

    /// <summary>Why there is no cluster, or null when it runs.</summary>
    public string? Unavailable { get; private set; }

    public int Port { get; private set; }

    public string SocketFolder => folder ?? throw new InvalidOperationException("no cluster");

    private string DataFolder => Path.Combine(folder!, "data");

    public static async Task<PostgresServer> StartAsync()
    {
        var server = new PostgresServer();
        await server.InitializeAsync();
        return server;
    }

    private async Task InitializeAsync()
    {
        bin = Environment.GetEnvironmentVariable("RUNBOX_TEST_POSTGRES_BIN") is { Length: > 0 } chosen
            ? (File.Exists(Path.Combine(chosen, "initdb")) ? chosen : null)
            : Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(version => Path.Combine(version, "bin"))
                .Where(candidate => File.Exists(Path.Combine(candidate, "initdb")) && File.Exists(Path.Combine(candidate, "pg_ctl")))
                .OrderByDescending(candidate => Version.TryParse(Path.GetFileName(Path.GetDirectoryName(candidate)), out var v) ? v : new Version())
                .FirstOrDefault()
            : null;
        if (bin is null)
        {
            Unavailable = "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin or " +
                "$RUNBOX_TEST_POSTGRES_BIN (apt-get install postgresql)";
            return;
        }
        try
        {
            folder = Directory.CreateTempSubdirectory("runbox-pg-").FullName;
            if (Environment.UserName == "root")
            {
                await RunAsync("chown", "postgres:", folder);
            }
            Port = FreePort();
            await RunServerToolAsync("initdb", "-D", DataFolder, "-U", Superuser, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync");
            await PgCtlAsync("start");
        }
        catch (Exception error) when (error is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            Unavailable = $"Could not start a PostgreSQL cluster with {bin}: {error.Message}";
        }
    }

    /// <summary>pg_ctl restart (fast): every connection is cut, the server is back on the same port.</summary>
    public Task RestartAsync() => PgCtlAsync("restart");

    /// <summary>pg_ctl stop (fast): the server is down until <see cref="StartAgainAsync"/>.</summary>
    public Task StopAsync() => PgCtlAsync("stop");

    /// <summary>pg_ctl start after <see cref="StopAsync"/>, on the same port.</summary>
    public Task StartAgainAsync() => PgCtlAsync("start");

    /// <summary>pg_terminate_backend on every connection whose application_name matches (LIKE pattern); returns how many.</summary>
    public async Task<int> TerminateAsync(string applicationNamePattern)
    {
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var kill = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE @name AND pid <> pg_backend_pid()", admin);
        kill.Parameters.AddWithValue("name", applicationNamePattern);
        return (int)(long)(await kill.ExecuteScalarAsync())!;
    }

    /// <summary>Connection string for a new, empty schema of its own, tagged with a unique application name.</summary>
    public async Task<string> NewSchemaAsync()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync($"CREATE SCHEMA {schema}");
        return ConnectionString("postgres", schema, "runbox-" + schema);
    }

    /// <summary>Connection string for a new, empty database (whole processes use it, as a deployment would).</summary>
    public async Task<string> NewDatabaseAsync(string applicationName = "runbox")
    {
        var database = "d_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync($"CREATE DATABASE {database}");
        return ConnectionString(database, null, applicationName);
    }

    /// <summary>Unpooled: a pooled connection would be dead after <see cref="RestartAsync"/>.</summary>
    private string AdminConnectionString => new NpgsqlConnectionStringBuilder(ConnectionString("postgres", null, "runbox-tests-admin")) { Pooling = false }.ConnectionString;

    public string ConnectionString(string database, string? schema, string applicationName) => new NpgsqlConnectionStringBuilder
    {
        Host = folder,
        Port = Port,
        Username = Superuser,
        Database = database,
        SearchPath = schema,
        ApplicationName = applicationName,
    }.ConnectionString;

    public async ValueTask DisposeAsync()
    {
        if (folder is null)
        {
            return;
        }
        try
        {
            if (Unavailable is null)
            {
                NpgsqlConnection.ClearAllPools();
                await RunServerToolAsync("pg_ctl", "-D", DataFolder, "-m", "immediate", "-w", "stop");
            }
        }
        finally
        {
            // Even when stopping failed (a server that died already): the cluster's files would stay in /tmp for good.
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var command = new NpgsqlCommand(sql, admin);
        await command.ExecuteNonQueryAsync();
    }

    private Task PgCtlAsync(string action) =>
        // fsync off: the tests check Runbox's logic, not PostgreSQL's crash safety.
        RunServerToolAsync("pg_ctl", [
            "-D", DataFolder, "-l", Path.Combine(folder!, "server.log"), "-w", "-t", "60",
            .. action == "restart" ? new[] { "-m", "fast" } : [],
            "-o", $"-p {Port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300",
            action]);

    private Task RunServerToolAsync(string tool, params string[] args)
    {
        var path = Path.Combine(bin!, tool);
        return Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", path, .. args])
            : RunAsync(path, args);
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
