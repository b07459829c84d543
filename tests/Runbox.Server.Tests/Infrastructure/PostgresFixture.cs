using Runbox.Testing;

namespace Runbox.Server.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL server for the cluster tests (<see cref="PostgresServer"/>); each test makes its own database. Tests skip
/// where the server binaries are missing, and fail instead under CI=true.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServer? server;

    public PostgresServer Server => server ?? throw new InvalidOperationException("no cluster");

    public async Task InitializeAsync() => server = await PostgresServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    public void Require()
    {
        if (server is { Unavailable: null })
        {
            return;
        }
        var why = server?.Unavailable ?? "not started";
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            throw new Xunit.Sdk.XunitException($"CI=true and PostgreSQL is required: {why}");
        }
        Skip.If(true, why);
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
