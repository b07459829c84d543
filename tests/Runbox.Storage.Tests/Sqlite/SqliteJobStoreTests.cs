using Runbox.Storage.Sqlite;
using Runbox.Storage.Tests.Contract;

namespace Runbox.Storage.Tests.Sqlite;

/// <summary>The contract on real database files: a temp folder per test class, a data folder per test.</summary>
public sealed class SqliteJobStoreTests(TempFolder folder) : JobStoreContract, IClassFixture<TempFolder>
{
    protected override Task<IJobStore> CreateStoreAsync(TimeProvider time, long maxArtifactBytes) =>
        Task.FromResult<IJobStore>(new SqliteJobStore(folder.NewSubfolder(), time, maxArtifactBytes));
}
