using Runbox.Testing;

namespace Runbox.Storage.Tests.Postgres;

/// <summary>
/// The test run's own PostgreSQL (<see cref="PostgresServer"/>), one schema per test. Tests skip where the server
/// binaries are missing, and fail instead under CI=true.
/// </summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    private PostgresServer? server;

    /// <summary>Why there is no cluster, or null when it runs.</summary>
    public string? Unavailable => server?.Unavailable ?? "not started";

    public string SocketFolder => Server.SocketFolder;

    public PostgresServer Server => server ?? throw new InvalidOperationException("no cluster");

    public async Task InitializeAsync() => server = await PostgresServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>Skips the test when there is no cluster, or fails it under CI=true, where nothing may be skipped.</summary>
    public void Require()
    {
        if (server is { Unavailable: null })
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
        return await Server.NewSchemaAsync();
    }

    public string ConnectionString(string? schema, string applicationName) => Server.ConnectionString("postgres", schema, applicationName);
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresCluster>
{
    public const string Name = "postgres";
}
