using Runbox.Storage.Postgres;
using Runbox.Storage.Tests.Contract;

namespace Runbox.Storage.Tests.Postgres;

/// <summary>The contract on a real PostgreSQL server, one schema per test.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresJobStoreTests(PostgresCluster cluster) : JobStoreContract
{
    protected override async Task<IJobStore> CreateStoreAsync(TimeProvider time, long maxArtifactBytes) =>
        new PostgresJobStore(await cluster.NewSchemaAsync(), time, maxArtifactBytes);
}
