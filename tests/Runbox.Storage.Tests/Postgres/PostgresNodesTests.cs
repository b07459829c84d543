using Npgsql;
using Runbox.Storage.Postgres;

namespace Runbox.Storage.Tests.Postgres;

/// <summary>What only a shared server has: several nodes on one database, and the LISTEN connection's life.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresNodesTests(PostgresCluster cluster)
{
    private static readonly TimeSpan LongWait = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [SkippableFact]
    public async Task Migrate_AppliesEachVersionOnce_WhenNodesStartTogether()
    {
        var connectionString = await cluster.NewSchemaAsync();
        var nodes = Enumerable.Range(0, 4).Select(_ => new PostgresJobStore(connectionString)).ToList();
        try
        {
            await Task.WhenAll(nodes.Select(node => Task.Run(() => node.MigrateAsync())));

            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var versions = new NpgsqlCommand("SELECT count(*), count(DISTINCT version) FROM schema_version", connection);
            await using var reader = await versions.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(reader.GetInt64(1), reader.GetInt64(0));
            Assert.True(await nodes[0].PingAsync());
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [SkippableFact]
    public async Task Migrate_RefusesToStart_WhenDatabaseHasVersionThisBuildDoesNotKnow()
    {
        var connectionString = await cluster.NewSchemaAsync();
        await using var store = new PostgresJobStore(connectionString);
        await store.MigrateAsync();
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var future = new NpgsqlCommand("INSERT INTO schema_version (version, applied_at) VALUES (999, now())", connection);
            await future.ExecuteNonQueryAsync();
        }

        var error = await Assert.ThrowsAsync<StoreVersionException>(() => store.MigrateAsync());

        Assert.Contains("999", error.Message);
    }

    [SkippableFact]
    public async Task Migrate7_KeepsTheLinesOfAVersion6Database_AndDeletingAJobStillDeletesThem()
    {
        var connectionString = await cluster.NewSchemaAsync();
        var job = TestJobs.Queued();
        var other = TestJobs.Queued();
        await using (var old = new PostgresJobStore(connectionString))
        {
            await old.MigrateAsync();
            // Back to version 6 as a database made before migration 7 is: the foreign key, no trigger.
            await ExecuteAsync(connectionString, """
                DROP TRIGGER jobs_delete_lines ON jobs;
                DROP FUNCTION runbox_delete_job_lines();
                ALTER TABLE log_lines ADD CONSTRAINT log_lines_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE;
                DELETE FROM schema_version WHERE version = 7;
                """);
            await old.InsertJobAsync(job);
            await old.InsertJobAsync(other);
            await old.AppendLogsAsync(job.Id, [TestJobs.Line(1, "one"), TestJobs.Line(2, "two")]);
            await old.AppendLogsAsync(other.Id, [TestJobs.Line(1, "kept")]);
        }

        await using var store = new PostgresJobStore(connectionString);
        await store.MigrateAsync();

        Assert.Equal([TestJobs.Line(1, "one"), TestJobs.Line(2, "two")], await store.ReadLogsAsync(job.Id, 0, 10));
        Assert.True(await store.DeleteJobAsync(job.Id));
        Assert.Empty(await store.ReadLogsAsync(job.Id, 0, 10));
        Assert.Equal([TestJobs.Line(1, "kept")], await store.ReadLogsAsync(other.Id, 0, 10));
        await store.AppendLogsAsync(job.Id, [TestJobs.Line(3, "after the delete")]);
        Assert.Empty(await store.ReadLogsAsync(job.Id, 0, 10));
    }

    [SkippableFact]
    public async Task Migrate8_LeavesAVersion7DatabasesRowsAsTheyAre_AndListsThemWithoutTheirSubmission()
    {
        var connectionString = await cluster.NewSchemaAsync();
        var plain = TestJobs.Queued(runtime: "r1", script: "print('plain')");
        var nul = TestJobs.Queued(runtime: "r2", script: "print('nul')\0");
        await using (var old = new PostgresJobStore(connectionString))
        {
            await old.MigrateAsync();
            await old.InsertJobAsync(plain);
            await old.InsertJobAsync(nul);
            // Back to version 7, as rows written before migration 8 are: no spec_summary.
            await ExecuteAsync(connectionString, "ALTER TABLE jobs DROP COLUMN spec_summary; DELETE FROM schema_version WHERE version = 8;");
        }

        await using var store = new PostgresJobStore(connectionString);
        await store.MigrateAsync();

        var listed = (await store.ListJobsAsync(new Storage.Jobs.JobQuery())).Jobs;
        Assert.Equal([(nul.Id, "r2"), (plain.Id, "r1")], listed.Select(job => (job.Id, job.Spec.Runtime)));
        Assert.All(listed, job => Assert.True(job.SubmissionLeftOut && job.Spec.Script is null && job.Spec.Args is []));
        Assert.Equal(nul.Spec.Script, (await store.GetJobAsync(nul.Id))!.Spec.Script);
        // Not rewritten at start: their specs are read whole and cleared by the store.
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var filled = new NpgsqlCommand("SELECT count(*) FROM jobs WHERE spec_summary IS NOT NULL", connection);
        Assert.Equal(0L, await filled.ExecuteScalarAsync());
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    [SkippableFact]
    public async Task Claim_NeverGivesSameJobTwice_WhenWorkersOnSeveralNodesRace()
    {
        var connectionString = await cluster.NewSchemaAsync();
        var nodes = new List<PostgresJobStore>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                nodes.Add(await StartAsync(connectionString));
            }
            for (var i = 0; i < 60; i++)
            {
                await nodes[i % nodes.Count].InsertJobAsync(TestJobs.Queued());
            }
            var claimed = new System.Collections.Concurrent.ConcurrentBag<string>();

            // Two workers per node, each on its own pooled connection.
            await Task.WhenAll(Enumerable.Range(0, 6).Select(worker => Task.Run(async () =>
            {
                var node = nodes[worker % nodes.Count];
                while (await node.ClaimAsync($"worker-{worker}", TimeSpan.FromMinutes(1)) is { } claim)
                {
                    claimed.Add(claim.Job.Id);
                    Assert.True(await claim.CompleteAsync(new Storage.Jobs.JobOutcome { Status = Execution.Jobs.JobStatus.Succeeded }));
                }
            })));

            Assert.Equal(60, claimed.Count);
            Assert.Equal(60, claimed.Distinct().Count());
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [SkippableFact]
    public async Task WaitForWork_Returns_WhenAnotherNodeInserts()
    {
        var connectionString = await cluster.NewSchemaAsync();
        await using var worker = await StartAsync(connectionString);
        await using var api = await StartAsync(connectionString);
        await ListeningAsync(worker);
        var wait = worker.WaitForWorkAsync(LongWait);

        await api.InsertJobAsync(TestJobs.Queued());

        Assert.Same(wait, await Task.WhenAny(wait, Task.Delay(Patience)));
        await using var claim = await worker.ClaimAsync("worker-1", TimeSpan.FromMinutes(1));
        Assert.NotNull(claim);
    }

    [SkippableFact]
    public async Task WaitForJobChange_Returns_WhenAnotherNodeAppendsLogs()
    {
        var connectionString = await cluster.NewSchemaAsync();
        await using var api = await StartAsync(connectionString);
        await using var worker = await StartAsync(connectionString);
        var job = TestJobs.Queued();
        await api.InsertJobAsync(job);
        await ListeningAsync(api);
        var wait = api.WaitForJobChangeAsync(job.Id, LongWait);

        await worker.AppendLogsAsync(job.Id, [TestJobs.Line(1, "from the worker")]);

        Assert.Same(wait, await Task.WhenAny(wait, Task.Delay(Patience)));
    }

    [SkippableFact]
    public async Task Listener_ReconnectsAndWaitsStillReturn_WhenItsConnectionIsTerminated()
    {
        var connectionString = await cluster.NewSchemaAsync();
        await using var worker = await StartAsync(connectionString);
        await using var api = await StartAsync(connectionString);
        await ListeningAsync(worker);
        Assert.Equal(1, worker.ListenerConnections);

        Assert.Equal(1, await TerminateListenerAsync(connectionString));

        // Whether the wait is woken by the reconnect or bounded by polling, it must not sleep its whole minute.
        var wait = worker.WaitForWorkAsync(LongWait);
        await api.InsertJobAsync(TestJobs.Queued());
        Assert.Same(wait, await Task.WhenAny(wait, Task.Delay(Patience)));

        await ListeningAsync(worker);
        Assert.True(worker.ListenerConnections >= 2);
        var next = worker.WaitForWorkAsync(LongWait);
        await api.InsertJobAsync(TestJobs.Queued());
        Assert.Same(next, await Task.WhenAny(next, Task.Delay(Patience)));
    }

    private static async Task<PostgresJobStore> StartAsync(string connectionString)
    {
        var store = new PostgresJobStore(connectionString);
        await store.MigrateAsync();
        return store;
    }

    /// <summary>Starts the node's listener (a wait does) and waits until its LISTEN connection is up.</summary>
    private static async Task ListeningAsync(PostgresJobStore store)
    {
        using var deadline = new CancellationTokenSource(Patience);
        while (!store.IsListening)
        {
            await store.WaitForWorkAsync(TimeSpan.FromMilliseconds(20), deadline.Token);
        }
    }

    private static async Task<long> TerminateListenerAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var terminate = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = @name", connection);
        terminate.Parameters.AddWithValue("name", PostgresJobStore.ListenerApplicationName(connectionString));
        return (long)(await terminate.ExecuteScalarAsync())!;
    }
}
