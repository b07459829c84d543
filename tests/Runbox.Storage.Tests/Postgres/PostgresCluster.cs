using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Runbox.Storage.Tests.Postgres;

/// <summary>
/// A throwaway PostgreSQL cluster for the test run: initdb into a temp folder, a free port on 127.0.0.1 and a Unix
/// socket in that folder, stopped and deleted at the end. Never a system-started server. As root, the server runs as
/// the <c>postgres</c> user (it refuses root). Each test gets its own schema. RUNBOX_TEST_POSTGRES_BIN picks the
/// folder holding initdb and pg_ctl when they live elsewhere.
/// </summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    private const string Superuser = "runbox";
    private string? folder;
    private string? bin;
    private int port;

    /// <summary>Why there is no cluster, or null when it runs.</summary>
    public string? Unavailable { get; private set; }

    public string SocketFolder => folder ?? throw new InvalidOperationException("no cluster");

    public async Task InitializeAsync()
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
            port = FreePort();
            await RunServerToolAsync("initdb", "-D", DataFolder, "-U", Superuser, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync");
            // fsync off: these tests check the store's logic, not PostgreSQL's crash safety.
            await RunServerToolAsync("pg_ctl", "-D", DataFolder, "-l", Path.Combine(folder, "server.log"), "-w", "-t", "60", "-o",
                $"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200",
                "start");
        }
        catch (Exception error) when (error is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            Unavailable = $"Could not start a PostgreSQL cluster with {bin}: {error.Message}";
        }
    }

    public async Task DisposeAsync()
    {
        if (folder is null)
        {
            return;
        }
        if (Unavailable is null)
        {
            NpgsqlConnection.ClearAllPools();
            await RunServerToolAsync("pg_ctl", "-D", DataFolder, "-m", "immediate", "-w", "stop");
        }
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>Skips the test when there is no cluster, or fails it under CI=true, where nothing may be skipped.</summary>
    public void Require()
    {
        if (Unavailable is null)
        {
            return;
        }
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            throw new Xunit.Sdk.XunitException($"CI=true and PostgreSQL is required: {Unavailable}");
        }
        Skip.If(true, Unavailable);
    }

    /// <summary>A connection string for a new, empty schema of its own, tagged with a unique application name.</summary>
    public async Task<string> NewSchemaAsync()
    {
        Require();
        var schema = "t_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new NpgsqlConnection(ConnectionString(null, "runbox-tests-admin")))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE SCHEMA {schema}", admin);
            await create.ExecuteNonQueryAsync();
        }
        return ConnectionString(schema, "runbox-" + schema);
    }

    public string ConnectionString(string? schema, string applicationName) => new NpgsqlConnectionStringBuilder
    {
        Host = folder,
        Port = port,
        Username = Superuser,
        Database = "postgres",
        SearchPath = schema,
        ApplicationName = applicationName,
    }.ConnectionString;

    private string DataFolder => Path.Combine(folder!, "data");

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

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresCluster>
{
    public const string Name = "postgres";
}
