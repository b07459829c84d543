using Npgsql;
using Runbox.Storage.Postgres;

namespace Runbox.Storage.Tests.Postgres;

/// <summary>
/// A claim's write racing a rescue: the write is checked against the row as the rescue leaves it, not against the
/// snapshot the write started from.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresFencingTests(PostgresCluster cluster)
{
    [SkippableFact]
    public async Task ClaimWrites_WaitForARescueUnderWay_AndAreRefusedOnceItCommits()
    {
        var connectionString = await cluster.NewSchemaAsync();
        await using var store = new PostgresJobStore(connectionString);
        await store.MigrateAsync();
        var job = TestJobs.Queued(maxAttempts: 2);
        await store.InsertJobAsync(job);
        await using var stale = await store.ClaimAsync("worker-1", TimeSpan.FromSeconds(30));

        // A rescue that has updated the row but not committed yet, as another node's would be mid-statement.
        await using var rescuer = new NpgsqlConnection(connectionString);
        await rescuer.OpenAsync();
        await using var rescue = await rescuer.BeginTransactionAsync();
        await using (var requeue = new NpgsqlCommand(
            "UPDATE jobs SET status = 'queued', worker = NULL, lease_token = NULL, lease_expires_at = NULL WHERE id = @id", rescuer, rescue))
        {
            requeue.Parameters.AddWithValue("id", job.Id);
            Assert.Equal(1, await requeue.ExecuteNonQueryAsync());
        }

        // Checked against the last committed row alone (FOR KEY SHARE), these went in: the claim that follows the
        // rescue clears the lost run's lines in its own statement, which would not see these if they committed after it.
        var append = stale!.AppendLogsAsync([TestJobs.Line(1, "lost run")]);
        var save = stale.SaveArtifactAsync("out.txt", TestJobs.Bytes("lost run"));
        await Task.Delay(300);
        await rescue.CommitAsync();

        Assert.False(await append);
        Assert.False(await save);
        Assert.Empty(await store.ReadLogsAsync(job.Id, 0, 10));
        Assert.Empty(await store.ListArtifactsAsync(job.Id));
    }
}
