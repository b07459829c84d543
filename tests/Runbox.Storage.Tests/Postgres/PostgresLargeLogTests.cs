using Npgsql;
using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;
using Runbox.Storage.Postgres;

namespace Runbox.Storage.Tests.Postgres;

/// <summary>
/// Jobs with millions of log lines (a job may print 64 MiB of empty lines: 33 million rows), deleted by hand or by
/// retention. A delete must not hinge on one statement outlasting the command timeout (Npgsql's default is 30 s; here
/// 1 s, so that a couple of million rows show it).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresLargeLogTests(PostgresCluster cluster)
{
    private const int ManyLines = 1_500_000;

    [SkippableFact]
    public async Task DeleteJob_OfMillionsOfLines_DeletesItAndEveryLine_WithinAShortCommandTimeout()
    {
        var connectionString = await cluster.NewSchemaAsync();
        await using var store = new PostgresJobStore(connectionString + ";Command Timeout=1");
        await store.MigrateAsync();
        var job = Ended();
        await store.InsertJobAsync(job);
        await AddLinesAsync(connectionString, job.Id, ManyLines);

        Assert.True(await store.DeleteJobAsync(job.Id));

        Assert.Null(await store.GetJobAsync(job.Id));
        Assert.Equal(0, await CountLinesAsync(connectionString));
    }

    [SkippableFact]
    public async Task Retention_OfJobsWithMillionsOfLines_DeletesThem_WithinAShortCommandTimeout()
    {
        var connectionString = await cluster.NewSchemaAsync();
        await using var store = new PostgresJobStore(connectionString + ";Command Timeout=1");
        await store.MigrateAsync();
        var jobs = new[] { Ended(1), Ended(2) };
        foreach (var job in jobs)
        {
            await store.InsertJobAsync(job);
            await AddLinesAsync(connectionString, job.Id, ManyLines / 2);
        }

        var deleted = await store.DeleteEndedJobsAsync(TestJobs.Epoch.AddDays(1), 500);

        Assert.Equal(jobs.Select(job => job.Id), deleted);
        Assert.Equal(0, await CountLinesAsync(connectionString));
    }

    [SkippableFact]
    public async Task ReadLastLogs_OfAJobOfManyLines_ScansTheKeyBackwards_WithoutASort()
    {
        var connectionString = await cluster.NewSchemaAsync();
        await using var store = new PostgresJobStore(connectionString);
        await store.MigrateAsync();
        var job = Ended();
        await store.InsertJobAsync(job);
        const int lines = 300_000;
        await AddLinesAsync(connectionString, job.Id, lines);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var analyze = new NpgsqlCommand("ANALYZE log_lines", connection))
        {
            await analyze.ExecuteNonQueryAsync();
        }

        await using var explain = new NpgsqlCommand("EXPLAIN " + PostgresJobStore.LastLinesQuery, connection);
        explain.Parameters.AddWithValue("job", job.Id);
        explain.Parameters.AddWithValue("limit", 1000);
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }

        var text = string.Join("\n", plan);
        Assert.Contains("Index Scan Backward using log_lines_pkey", text);
        Assert.DoesNotContain("Sort", text);
        Assert.DoesNotContain("Seq Scan", text);
        var tail = await store.ReadLastLogsAsync(job.Id, 1000);
        Assert.Equal(Enumerable.Range(lines - 999, 1000).Select(seq => (long)seq), tail.Select(line => line.Seq));
    }

    /// <summary>A job that ended <paramref name="seconds"/> after the epoch: retention takes the oldest first.</summary>
    private static JobRecord Ended(int seconds = 1) => TestJobs.Queued() with
    {
        Status = JobStatus.Succeeded,
        StartedAt = TestJobs.Epoch,
        FinishedAt = TestJobs.Epoch.AddSeconds(seconds),
        Outcome = new JobOutcome { Status = JobStatus.Succeeded, FinishedAt = TestJobs.Epoch.AddSeconds(seconds) },
    };

    /// <summary>Empty lines, as a job printing newlines leaves them, written in one statement without a timeout.</summary>
    private static async Task AddLinesAsync(string connectionString, string jobId, int count)
    {
        await using var connection = new NpgsqlConnection(connectionString + ";Command Timeout=0");
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand(
            "INSERT INTO log_lines (job_id, seq, ts, stream, line, ended) SELECT @job, g, now(), 'stdout', ''::bytea, true FROM generate_series(1, @count) g",
            connection);
        insert.Parameters.AddWithValue("job", jobId);
        insert.Parameters.AddWithValue("count", count);
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountLinesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM log_lines", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
