using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Runbox.Server.Auth;
using Runbox.Server.Configuration;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Storage.Postgres;

namespace Runbox.Server.Tests.Auth;

/// <summary>Several API nodes starting for the first time on one PostgreSQL database: one admin key, saved by one node.</summary>
[Collection(PostgresCollection.Name)]
public sealed class AdminKeyFirstStartTests(PostgresFixture postgres)
{
    private const int Nodes = 6;

    [SkippableFact]
    public async Task StoreInitializer_CreatesExactlyOneAdminKey_WhenNodesStartTogether()
    {
        postgres.Require();
        // A check-then-insert race shows only now and then: several fresh schemas, the nodes let go at once on each.
        for (var round = 0; round < 5; round++)
        {
            await AssertOneAdminKeyAsync(await postgres.Server.NewSchemaAsync());
        }
    }

    private static async Task AssertOneAdminKeyAsync(string connectionString)
    {
        var folders = Enumerable.Range(0, Nodes).Select(_ => new TempFolder()).ToList();
        var stores = folders.Select(_ => new PostgresJobStore(connectionString)).ToList();
        try
        {
            var options = folders.Select(folder => Options.Create(new RunboxOptions { DataDirectory = folder.Path, Store = connectionString, SingleNode = false })).ToList();
            var data = options.Select(o => new DataFolder(o)).ToList();
            using var start = new SemaphoreSlim(0);
            var nodes = stores.Select((node, i) => Task.Run(async () =>
            {
                await start.WaitAsync();
                await new StoreInitializer(node, data[i], options[i], TimeProvider.System, NullLogger<StoreInitializer>.Instance).StartAsync(CancellationToken.None);
            })).ToList();
            start.Release(Nodes);
            await Task.WhenAll(nodes);

            var admin = Assert.Single(await stores[0].ListKeysAsync(), k => k.IsAdmin);
            var keyFile = Assert.Single(folders.Select(f => Path.Combine(f.Path, "admin.key")), File.Exists);
            Assert.Equal(admin.Hash, ApiKeySecrets.Hash((await File.ReadAllTextAsync(keyFile)).Trim()));
        }
        finally
        {
            foreach (var node in stores)
            {
                await node.DisposeAsync();
            }
            foreach (var folder in folders)
            {
                folder.Dispose();
            }
        }
    }
}
