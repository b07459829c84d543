using System.Net;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Configuration;

/// <summary>
/// A data folder that served SQLite, then given <c>--store</c> (moving a node to PostgreSQL, docs/operations.md): the
/// new store makes its own admin key, and the SQLite database's stays usable.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class StoreSwitchTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task MovingAFolderToPostgres_KeepsTheSqliteAdminKey_AndItStillOpensTheSqliteStore()
    {
        postgres.Require();
        var store = await postgres.Server.NewDatabaseAsync("runbox-switch");
        using var folder = new TempFolder();
        var keyFile = Path.Combine(folder.Path, "admin.key");

        string sqliteKey;
        await using (var sqlite = await ServeProcess.StartAsync(folder.Path, ServeProcess.FreePort(), output, "--socket", "none"))
        {
            sqliteKey = (await File.ReadAllTextAsync(keyFile)).Trim();
        }

        string postgresKey;
        await using (var api = await ServeProcess.StartAsync(folder.Path, ServeProcess.FreePort(), output, "--socket", "none", "--store", store, "--no-worker"))
        {
            postgresKey = (await File.ReadAllTextAsync(keyFile)).Trim();
            using var client = api.Client(postgresKey);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/keys")).StatusCode);
        }
        Assert.NotEqual(sqliteKey, postgresKey);
        var kept = Assert.Single(Directory.GetFiles(folder.Path, "admin.key.replaced-*"));
        Assert.Equal(sqliteKey, (await File.ReadAllTextAsync(kept)).Trim());

        // Back on SQLite (to read the jobs kept there): the kept key is still its admin key.
        await using var again = await ServeProcess.StartAsync(folder.Path, ServeProcess.FreePort(), output, "--socket", "none");
        using var admin = again.Client(sqliteKey);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/keys")).StatusCode);
    }
}
