using Runbox.Execution.Jobs;

namespace Runbox.Storage.Tests.Contract;

public abstract partial class JobStoreContract
{
    [SkippableFact]
    public async Task AppendLogs_IgnoresLinesAlreadyStored_WhenBatchIsResent()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await store.AppendLogsAsync(job.Id, [TestJobs.Line(1, "one"), TestJobs.Line(2, "two", LogStream.Stderr)]);

        await store.AppendLogsAsync(job.Id, [TestJobs.Line(2, "two again"), TestJobs.Line(3, "three ünï \t")]);

        var lines = await store.ReadLogsAsync(job.Id, 0, 100);
        Assert.Equal([TestJobs.Line(1, "one"), TestJobs.Line(2, "two", LogStream.Stderr), TestJobs.Line(3, "three ünï \t")], lines);
    }

    [SkippableFact]
    public async Task ReadLogs_KeepsWhetherEachLineEnded_WhenAPieceWasLeftUnfinished()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        // A progress bar's "50%" (no newline yet), then a line ending after its overlong first piece.
        LogLine[] written = [TestJobs.Line(1, "50%") with { Ended = false }, TestJobs.Line(2, "piece") with { Ended = false }, TestJobs.Line(3, " end")];

        await store.AppendLogsAsync(job.Id, written);

        var read = await store.ReadLogsAsync(job.Id, 0, 100);
        Assert.Equal([false, false, true], read.Select(line => line.Ended));
        Assert.Equal(written, read);
    }

    [SkippableFact]
    public async Task ReadLogs_PagesBySeq_WhenLimited()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await store.AppendLogsAsync(job.Id, [.. Enumerable.Range(1, 10).Reverse().Select(seq => TestJobs.Line(seq, $"line {seq}"))]);

        var first = await store.ReadLogsAsync(job.Id, 0, 4);
        var second = await store.ReadLogsAsync(job.Id, first[^1].Seq, 4);
        var rest = await store.ReadLogsAsync(job.Id, second[^1].Seq, 100);

        Assert.Equal([1, 2, 3, 4], first.Select(line => line.Seq));
        Assert.Equal([5, 6, 7, 8], second.Select(line => line.Seq));
        Assert.Equal([9, 10], rest.Select(line => line.Seq));
        Assert.Empty(await store.ReadLogsAsync(job.Id, 10, 100));
        Assert.Empty(await store.ReadLogsAsync("job_missing", 0, 100));
    }

    [SkippableFact]
    public async Task ReadLastLogs_ReturnsTheLastLinesInSeqOrder_WhenTheJobHasMore()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        // Stored out of order, as batches from two pipes may come: the tail goes by seq, not by when a line was stored.
        await store.AppendLogsAsync(job.Id, [.. Enumerable.Range(1, 10).Reverse().Select(seq => TestJobs.Line(seq, $"line {seq}", seq == 9 ? LogStream.Stderr : LogStream.Stdout))]);
        await store.AppendLogsAsync(job.Id, [TestJobs.Line(11, "open") with { Ended = false }]);

        var tail = await store.ReadLastLogsAsync(job.Id, 3);

        Assert.Equal([TestJobs.Line(9, "line 9", LogStream.Stderr), TestJobs.Line(10, "line 10"), TestJobs.Line(11, "open") with { Ended = false }], tail);
        Assert.Equal(Enumerable.Range(1, 11).Select(seq => (long)seq), (await store.ReadLastLogsAsync(job.Id, 100)).Select(line => line.Seq));
        Assert.Empty(await store.ReadLastLogsAsync("job_missing", 10));
    }

    [SkippableFact]
    public async Task AppendLogs_KeepsTextExactly_WhenItHoldsNulAndReplacementCharacters()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        var line = TestJobs.Line(1, "a\0b \uFFFD \r tab\t emoji \U0001F600 ", LogStream.Stderr);

        await store.AppendLogsAsync(job.Id, [line]);

        Assert.Equal([line], await store.ReadLogsAsync(job.Id, 0, 10));
    }

    [SkippableFact]
    public async Task AppendLogs_StoresNothing_WhenNoSuchJob()
    {
        await using var store = await NewStoreAsync();

        await store.AppendLogsAsync("job_missing", [TestJobs.Line(1, "orphan")]);

        Assert.Empty(await store.ReadLogsAsync("job_missing", 0, 10));
    }

    [SkippableFact]
    public async Task AppendLogs_StoresEachLineOnce_WhenALargeBatchIsResentOverlappingTheNext()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        var lines = Enumerable.Range(1, 7500)
            .Select(seq => TestJobs.Line(seq, $"line {seq}", seq % 7 == 0 ? LogStream.Stderr : LogStream.Stdout))
            .ToArray();
        await store.AppendLogsAsync(job.Id, lines[..5000]);

        // The worker's retry of a batch whose acknowledgement was lost, sent with the lines that came meanwhile.
        await store.AppendLogsAsync(job.Id, [.. lines[2500..].Select(line => line with { Text = "again " + line.Text })]);

        var read = new List<LogLine>();
        IReadOnlyList<LogLine> page;
        while ((page = await store.ReadLogsAsync(job.Id, read.Count == 0 ? 0 : read[^1].Seq, 1000)).Count > 0)
        {
            read.AddRange(page);
        }
        Assert.Equal([.. lines[..5000], .. lines[5000..].Select(line => line with { Text = "again " + line.Text })], read);
    }

    [SkippableFact]
    public async Task AppendLogs_LeavesNoLines_WhenTheJobIsDeletedWhileBatchesArrive()
    {
        await using var store = await NewStoreAsync();
        // A few rounds: a batch slipping in beside the delete (stored after the job's lines were deleted) is a race.
        for (var round = 0; round < 5; round++)
        {
            var job = TestJobs.Queued();
            await store.InsertJobAsync(job);
            using var deleted = new CancellationTokenSource();
            var appending = Task.Run(async () =>
            {
                // Batches keep coming until after the delete, as from a worker that has not noticed it yet.
                for (var seq = 1L; seq < 200_000 && !deleted.IsCancellationRequested; seq += 500)
                {
                    await store.AppendLogsAsync(job.Id, [.. Enumerable.Range(0, 500).Select(i => TestJobs.Line(seq + i, "x"))]);
                }
                await store.AppendLogsAsync(job.Id, [TestJobs.Line(200_001, "after")]);
            });
            while ((await store.ReadLogsAsync(job.Id, 0, 1)).Count == 0)
            {
                await Task.Delay(5);
            }

            Assert.True(await store.DeleteJobAsync(job.Id));
            await deleted.CancelAsync();
            await appending;

            Assert.Empty(await store.ReadLogsAsync(job.Id, 0, 10));
        }
    }
}
