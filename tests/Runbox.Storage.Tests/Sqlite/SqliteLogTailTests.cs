using Microsoft.Data.Sqlite;
using Runbox.Storage.Sqlite;

namespace Runbox.Storage.Tests.Sqlite;

/// <summary>
/// The last lines of a job of many lines come from the primary key read backwards, never from reading (or sorting)
/// every line: the web UI opens an ended job's page with them, and a job may hold tens of millions of lines.
/// </summary>
public sealed class SqliteLogTailTests(TempFolder folder) : IClassFixture<TempFolder>
{
    private const int ManyLines = 300_000;

    [Fact]
    public async Task ReadLastLogs_OfAJobOfManyLines_WalksThePrimaryKeyBackwards_WithoutASort()
    {
        var data = folder.NewSubfolder();
        await using var store = new SqliteJobStore(data);
        await store.MigrateAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(data, SqliteJobStore.DatabaseFileName)};Pooling=false");
        await connection.OpenAsync();
        await using (var insert = connection.CreateCommand())
        {
            insert.CommandText = """
                WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < $count)
                INSERT INTO log_lines (job_id, seq, ts, stream, text, ended) SELECT $job, seq, 0, 'stdout', 'line ' || seq, 1 FROM n
                """;
            insert.Parameters.AddWithValue("$job", job.Id);
            insert.Parameters.AddWithValue("$count", ManyLines);
            await insert.ExecuteNonQueryAsync();
        }

        await using var explain = connection.CreateCommand();
        explain.CommandText = "EXPLAIN QUERY PLAN " + SqliteJobStore.LastLinesQuery;
        explain.Parameters.AddWithValue("$job", job.Id);
        explain.Parameters.AddWithValue("$limit", 1000);
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(3));
            }
        }

        Assert.Equal(["SEARCH log_lines USING PRIMARY KEY (job_id=?)"], plan);
        var tail = await store.ReadLastLogsAsync(job.Id, 1000);
        Assert.Equal(Enumerable.Range(ManyLines - 999, 1000).Select(seq => (long)seq), tail.Select(line => line.Seq));
        Assert.Equal($"line {ManyLines}", tail[^1].Text);
    }
}
