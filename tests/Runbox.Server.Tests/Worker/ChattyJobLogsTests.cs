using System.Collections.Concurrent;
using System.Text;
using Npgsql;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Worker;

/// <summary>
/// A job printing tens of thousands of lines, through the worker's batching into each store and back out through
/// GET /logs: every line once, in order, on its stream.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ChattyJobLogsTests(PostgresFixture postgres, ITestOutputHelper output)
{
    /// <summary>
    /// Short lines on both streams with a few lines longer than a stored piece (64 KiB) among them, so batches end both
    /// at their line count and at their characters.
    /// </summary>
    private const string ChattyScript = """
        import sys
        long = 'y' * 100_000
        for i in range(40_000):
            if i % 10 == 3:
                print(f'err {i}', file=sys.stderr)
            else:
                print(f'out {i}')
            if i % 4_000 == 0:
                print(long)
        """;

    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task ChattyJob_StoresEveryLineOnce_InOrder_OnItsStream(string store)
    {
        await using var server = await StartAsync(store);

        var job = await SubmitAsync(server, ChattyScript);

        var lines = await AllLinesAsync(server, job.Id);
        Assert.Equal(Enumerable.Range(1, lines.Count).Select(seq => (long)seq), lines.Select(line => line.Seq));
        Assert.All(lines.Where(line => line.Text.StartsWith("out ", StringComparison.Ordinal)), line => Assert.Equal("stdout", line.Stream));
        Assert.All(lines.Where(line => line.Text.StartsWith("err ", StringComparison.Ordinal)), line => Assert.Equal("stderr", line.Stream));
        // Each stream's lines, put back together (a piece that did not end its line gets no newline), are its output.
        Assert.Equal(job.Stdout, Joined(lines, "stdout"));
        Assert.Equal(job.Stderr, Joined(lines, "stderr"));
        Assert.Equal(36_000, lines.Count(line => line.Text.StartsWith("out ", StringComparison.Ordinal)));
        Assert.Equal(4_000, lines.Count(line => line.Text.StartsWith("err ", StringComparison.Ordinal)));
    }

    /// <summary>
    /// Each stored batch wakes every live reader of the job (PostgreSQL: one NOTIFY per batch, to every node). At 100
    /// lines a batch, 60,000 lines written at once were 600 batches; they go in batches as large as the backlog.
    /// </summary>
    [SkippableFact]
    public async Task ChattyJob_OnPostgres_IsStoredInFewBatches_WhenItsLinesComeFasterThanTheStoreTakesThem()
    {
        postgres.Require();
        var connectionString = await postgres.Server.NewDatabaseAsync("runbox-chatty");
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:Store"] = connectionString });
        var notified = new ConcurrentQueue<string>();
        await using var listener = new NpgsqlConnection(connectionString);
        await listener.OpenAsync();
        listener.Notification += (_, e) => notified.Enqueue(e.Payload);
        await using (var listen = new NpgsqlCommand("LISTEN runbox_job", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }
        using var stop = new CancellationTokenSource();
        var listening = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await listener.WaitAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });

        var job = await SubmitAsync(server, "import sys\nsys.stdout.write(''.join(f'{i}\\n' for i in range(60_000)))");
        var lines = await AllLinesAsync(server, job.Id);
        await Task.Delay(500);
        await stop.CancelAsync();
        await listening;

        Assert.Equal(Enumerable.Range(0, 60_000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), lines.Select(line => line.Text));
        var wakes = notified.Count(payload => payload == job.Id);
        output.WriteLine($"{wakes} notifications of job {job.Id}");
        Assert.InRange(wakes, 1, 100);
    }

    private async Task<RunningServer> StartAsync(string store)
    {
        if (store == "sqlite")
        {
            return await RunningServer.StartAsync(output);
        }
        postgres.Require();
        var connectionString = await postgres.Server.NewDatabaseAsync("runbox-chatty");
        return await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:Store"] = connectionString });
    }

    private static async Task<JobResponse> SubmitAsync(RunningServer server, string script)
    {
        var submitted = await server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = script,
            Limits = new JobLimitsBody { OutputBytes = 16L * 1024 * 1024, TimeoutSeconds = 120, CpuSeconds = 120 },
        });
        var job = await server.Admin.WaitEndedAsync(submitted.Id, seconds: 180);
        Assert.True(job.Status == "succeeded", $"{job.Status}: {job.Error} {job.Stderr}");
        Assert.False(job.StdoutTruncated);
        return job;
    }

    private static async Task<List<LogLineResponse>> AllLinesAsync(RunningServer server, string id)
    {
        var lines = new List<LogLineResponse>();
        long after = 0;
        while (true)
        {
            var page = await (await server.Admin.GetAsync($"/api/v1/jobs/{id}/logs?after_seq={after}&limit=5000")).ReadAsync<LogPageResponse>();
            lines.AddRange(page.Lines);
            after = page.NextSeq;
            if (page.Done)
            {
                return lines;
            }
        }
    }

    private static string Joined(List<LogLineResponse> lines, string stream)
    {
        var text = new StringBuilder();
        foreach (var line in lines.Where(line => line.Stream == stream))
        {
            text.Append(line.Text).Append(line.Ended == false ? "" : "\n");
        }
        return text.ToString();
    }
}
