using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;
using Runbox.Storage.Runtimes;

namespace Runbox.Storage.Tests.Contract;

public abstract partial class JobStoreContract
{
    [SkippableFact]
    public async Task InsertJob_RoundTripsEveryField_WhenReadBack()
    {
        await using var store = await NewStoreAsync();
        byte[] stdout = [0x68, 0x69, 0x00, 0xff, 0xfe, 0xc3, 0x28, 0x0a];
        var finishedAt = TestJobs.Epoch.AddMinutes(3).AddTicks(1230);
        var job = new JobRecord
        {
            Id = TestJobs.NewId(),
            Owner = "key_round_trip",
            Status = JobStatus.Failed,
            CreatedAt = TestJobs.Epoch.AddTicks(4560),
            StartedAt = TestJobs.Epoch.AddMinutes(1),
            FinishedAt = finishedAt,
            Attempt = 2,
            Worker = "worker-7",
            CancelRequested = true,
            Spec = new JobSpec
            {
                Language = "bash",
                Script = "echo 'ünïcode' \"quoted\"\n\tand a tab",
                Files = new Dictionary<string, byte[]> { ["data/in.bin"] = [0, 1, 2, 255], ["empty.txt"] = [] },
                Entrypoint = "main.sh",
                Runtime = "py312",
                Args = ["--flag", "two words"],
                Stdin = [10, 0, 13],
                Env = new Dictionary<string, string> { ["MY_VAR"] = "1", ["lower_case"] = "x=y" },
                TimeoutSeconds = 2.5,
                CpuSeconds = 1.25,
                MemoryMb = 256,
                Processes = 32,
                OutputBytes = 1_000_000,
                FileSizeMb = 10,
                DiskMb = 64,
                Network = true,
                Fresh = true,
                CallbackUrl = "http://127.0.0.1:9/done",
                MaxAttempts = 3,
            },
            Outcome = new JobOutcome
            {
                Status = JobStatus.Failed,
                ExitCode = 3,
                Signal = 9,
                LimitExceeded = LimitKind.Disk,
                Stdout = stdout,
                Stderr = [0x80, 0x00],
                StdoutTruncated = true,
                StderrTruncated = false,
                WallMs = 1234,
                CpuUserMs = 56,
                CpuSystemMs = 78,
                PeakMemoryBytes = 9_876_543_210,
                Error = "some error",
                FinishedAt = finishedAt,
            },
        };

        await store.InsertJobAsync(job);
        var read = await GetAsync(store, job.Id);

        Assert.Equal(job.Id, read.Id);
        Assert.Equal(job.Owner, read.Owner);
        Assert.Equal(job.Status, read.Status);
        Assert.Equal(job.CreatedAt, read.CreatedAt);
        Assert.Equal(job.StartedAt, read.StartedAt);
        Assert.Equal(job.FinishedAt, read.FinishedAt);
        Assert.Equal(job.Attempt, read.Attempt);
        Assert.Equal(job.Worker, read.Worker);
        Assert.Equal(job.CancelRequested, read.CancelRequested);
        Assert.Equal(TestJobs.SpecJson(job.Spec), TestJobs.SpecJson(read.Spec));
        Assert.Equal(job.Spec.Files!["data/in.bin"], read.Spec.Files!["data/in.bin"]);
        Assert.NotNull(read.Outcome);
        Assert.Equal(stdout, read.Outcome.Stdout);
        Assert.Equal(job.Outcome.Stderr, read.Outcome.Stderr);
        Assert.Equal(job.Outcome with { Stdout = [], Stderr = [] }, read.Outcome with { Stdout = [], Stderr = [] });
    }

    [SkippableFact]
    public async Task InsertJob_KeepsDefaults_WhenSpecIsMinimal()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued(script: null);

        await store.InsertJobAsync(job);
        var read = await GetAsync(store, job.Id);

        Assert.Equal(JobStatus.Queued, read.Status);
        Assert.Null(read.Outcome);
        Assert.Null(read.StartedAt);
        Assert.Null(read.Worker);
        Assert.Equal(0, read.Attempt);
        Assert.Equal("python", read.Spec.Language);
        Assert.Equal("default", read.Spec.Runtime);
        Assert.Empty(read.Spec.Args);
        Assert.Empty(read.Spec.Env);
        Assert.Null(read.Spec.Files);
        Assert.Equal(1, read.Spec.MaxAttempts);
    }

    [SkippableFact]
    public async Task InsertJob_KeepsScript_WhenItHoldsNul()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued(script: "print('a\0b')\0 findme");

        await store.InsertJobAsync(job);

        Assert.Equal(job.Spec.Script, (await GetAsync(store, job.Id)).Spec.Script);
        Assert.Equal([job.Id], await ListIdsAsync(store, new JobQuery { Text = "findme" }));
    }

    [SkippableFact]
    public async Task GetJob_ReturnsNull_WhenNoSuchJob()
    {
        await using var store = await NewStoreAsync();

        Assert.Null(await store.GetJobAsync("job_missing"));
    }

    [SkippableFact]
    public async Task ListJobs_AppliesEachFilter_WhenGiven()
    {
        await using var store = await NewStoreAsync();
        var alice = TestJobs.Queued(owner: "key_alice", runtime: "default", script: "print('needle here')");
        var bob = TestJobs.Queued(owner: "key_bob", runtime: "py312", script: "print('hay')");
        var bobCancelled = TestJobs.Queued(id: "job_needle_in_id", owner: "key_bob", runtime: "default", script: "x = 1");
        await store.InsertJobAsync(alice);
        await store.InsertJobAsync(bob);
        await store.InsertJobAsync(bobCancelled);
        await store.RequestCancelAsync(bobCancelled.Id);

        Assert.Equal([bobCancelled.Id, bob.Id, alice.Id], await ListIdsAsync(store, new JobQuery()));
        Assert.Equal([bobCancelled.Id, bob.Id], await ListIdsAsync(store, new JobQuery { Owner = "key_bob" }));
        Assert.Equal([bobCancelled.Id], await ListIdsAsync(store, new JobQuery { Status = JobStatus.Cancelled }));
        Assert.Equal([bob.Id], await ListIdsAsync(store, new JobQuery { Runtime = "py312" }));
        Assert.Equal([bobCancelled.Id, alice.Id], await ListIdsAsync(store, new JobQuery { Text = "needle" }));
        Assert.Equal([bobCancelled.Id], await ListIdsAsync(store, new JobQuery { Owner = "key_bob", Text = "needle" }));
        Assert.Empty(await ListIdsAsync(store, new JobQuery { Owner = "key_carol" }));
    }

    [SkippableFact]
    public async Task ListJobs_PagesNewestFirstWithoutGapsOrDuplicates_WhenFollowingCursor()
    {
        await using var store = await NewStoreAsync();
        var expected = new List<string>();
        // Groups of jobs created in the same microsecond: the id must break the tie so no page boundary loses one.
        for (var i = 0; i < 23; i++)
        {
            var job = TestJobs.Queued(id: $"job_{i:D3}", createdAt: TestJobs.Epoch.AddSeconds(i / 3));
            await store.InsertJobAsync(job);
            expected.Insert(0, job.Id);
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await store.ListJobsAsync(new JobQuery { Limit = 5, Cursor = cursor });
            Assert.InRange(page.Jobs.Count, 1, 5);
            seen.AddRange(page.Jobs.Select(job => job.Id));
            // A job inserted while paging is newer than the cursor and must not shift the pages after it.
            await store.InsertJobAsync(TestJobs.Queued(createdAt: TestJobs.Epoch.AddHours(1).AddSeconds(pages)));
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(expected, seen);
        Assert.Equal(5, pages);
    }

    [SkippableFact]
    public async Task ListJobsAndGetWithoutOutput_LeaveStdoutAndStderrOut_UnlessAskedFor()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued() with
        {
            Status = JobStatus.Failed,
            Outcome = new JobOutcome { Status = JobStatus.Failed, ExitCode = 3, Stdout = [0x6f, 0x75, 0x74], Stderr = [0x65], StdoutTruncated = true, Error = "e" },
        };
        await store.InsertJobAsync(job);

        var listed = Assert.Single((await store.ListJobsAsync(new JobQuery())).Jobs).Outcome!;
        var listedWithOutput = Assert.Single((await store.ListJobsAsync(new JobQuery { WithOutput = true })).Jobs).Outcome!;
        var status = (await store.GetJobAsync(job.Id, withOutput: false, withSubmission: true))!;
        var whole = (await store.GetJobAsync(job.Id))!.Outcome!;

        // Everything but the output, which is marked as left out rather than passed off as empty.
        foreach (var outcome in new[] { listed, status.Outcome! })
        {
            Assert.True(outcome.OutputLeftOut);
            Assert.Empty(outcome.Stdout);
            Assert.Empty(outcome.Stderr);
            Assert.Equal((3, true, "e"), (outcome.ExitCode, outcome.StdoutTruncated, outcome.Error));
        }
        Assert.Equal((job.Owner, JobStatus.Failed), (status.Owner, status.Status));
        foreach (var outcome in new[] { listedWithOutput, whole })
        {
            Assert.False(outcome.OutputLeftOut);
            Assert.Equal("out"u8.ToArray(), outcome.Stdout);
            Assert.Equal("e"u8.ToArray(), outcome.Stderr);
        }
        Assert.Null(await store.GetJobAsync("job_missing", withOutput: false, withSubmission: false));
    }

    [SkippableFact]
    public async Task ListJobsAndStatusReads_LeaveTheSubmissionOut_UnlessAskedFor()
    {
        await using var store = await NewStoreAsync();
        // A NUL in the script too: PostgreSQL's json column keeps it, where jsonb would refuse the row.
        var spec = new JobSpec
        {
            Language = "bash",
            Runtime = "r1",
            Script = "echo needle\0" + new string('x', 1 << 20),
            Files = new Dictionary<string, byte[]> { ["data.bin"] = [1, 2, 3] },
            Entrypoint = "run.sh",
            Args = ["a", "b"],
            Stdin = "input"u8.ToArray(),
            Env = new Dictionary<string, string> { ["TOKEN"] = "secret" },
            TimeoutSeconds = 5,
            MemoryMb = 64,
            Network = true,
            CallbackUrl = "http://127.0.0.1:1/hook",
            MaxAttempts = 2,
        };
        var job = TestJobs.Queued() with { Spec = spec };
        await store.InsertJobAsync(job);

        var listed = Assert.Single((await store.ListJobsAsync(new JobQuery())).Jobs);
        var found = Assert.Single((await store.ListJobsAsync(new JobQuery { Text = "needle" })).Jobs);
        var status = (await store.GetJobAsync(job.Id, withOutput: false, withSubmission: false))!;
        var result = (await store.GetJobAsync(job.Id, withOutput: true, withSubmission: false))!;
        var whole = (await store.GetJobAsync(job.Id))!;
        var listedWhole = Assert.Single((await store.ListJobsAsync(new JobQuery { WithSubmission = true })).Jobs);
        var cancelled = (await store.RequestCancelAsync(job.Id))!;

        // The rest of the spec is there; the submission is marked as left out rather than passed off as empty.
        foreach (var read in new[] { listed, found, status, result, cancelled })
        {
            Assert.True(read.SubmissionLeftOut);
            Assert.Equal((job.Id, job.Owner), (read.Id, read.Owner));
            Assert.Null(read.Spec.Script);
            Assert.Null(read.Spec.Files);
            Assert.Null(read.Spec.Stdin);
            Assert.Empty(read.Spec.Args);
            Assert.Empty(read.Spec.Env);
            Assert.Equal(
                TestJobs.SpecJson(job.Spec with { Script = null, Files = null, Stdin = null, Args = [], Env = new Dictionary<string, string>() }),
                TestJobs.SpecJson(read.Spec));
        }
        Assert.Equal(JobStatus.Cancelled, cancelled.Status);
        foreach (var read in new[] { whole, listedWhole })
        {
            Assert.False(read.SubmissionLeftOut);
            Assert.Equal(TestJobs.SpecJson(job.Spec), TestJobs.SpecJson(read.Spec));
        }
    }

    [SkippableFact]
    public async Task ListJobs_RejectsCursor_WhenNotIssuedByStore()
    {
        await using var store = await NewStoreAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.ListJobsAsync(new JobQuery { Cursor = "not-a-cursor!" }));
    }

    [SkippableFact]
    public async Task RequestCancel_EndsJobAsCancelled_WhenQueued()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);

        var cancelled = await store.RequestCancelAsync(job.Id);

        Assert.NotNull(cancelled);
        Assert.Equal(JobStatus.Cancelled, cancelled.Status);
        Assert.Equal(JobStatus.Cancelled, cancelled.Outcome?.Status);
        Assert.Equal(Time.GetUtcNow(), cancelled.FinishedAt);
        Assert.Equal(JobStatus.Cancelled, (await GetAsync(store, job.Id)).Status);
        Assert.Null(await store.ClaimAsync("worker-1", TimeSpan.FromMinutes(1)));
    }

    [SkippableFact]
    public async Task RequestCancelTellingEnd_SaysEndedOnlyToTheCancelThatEndedTheQueuedJob()
    {
        await using var store = await NewStoreAsync();
        var queued = TestJobs.Queued();
        var running = TestJobs.Queued();
        await store.InsertJobAsync(queued);
        await store.InsertJobAsync(running);
        await using var claim = await store.ClaimAsync("worker-1", TimeSpan.FromMinutes(1));
        Assert.NotNull(claim);
        var claimedId = claim.Job.Id;

        var first = await store.RequestCancelTellingEndAsync(queued.Id == claimedId ? running.Id : queued.Id);
        var second = await store.RequestCancelTellingEndAsync(queued.Id == claimedId ? running.Id : queued.Id);
        var flagged = await store.RequestCancelTellingEndAsync(claimedId);

        // Both came back cancelled; only the first ended it, so only its caller sends the job's callback.
        Assert.Equal((JobStatus.Cancelled, true), (first.Job!.Status, first.Ended));
        Assert.Equal((JobStatus.Cancelled, false), (second.Job!.Status, second.Ended));
        Assert.Equal((JobStatus.Running, false), (flagged.Job!.Status, flagged.Ended));
        Assert.Equal((null, false), await store.RequestCancelTellingEndAsync("01a23aca58517ad2838101ef30a41222"));
    }

    [SkippableFact]
    public async Task RequestCancel_FlagsJobForItsWorker_WhenRunning()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await using var claim = await store.ClaimAsync("worker-1", TimeSpan.FromMinutes(1));
        Assert.NotNull(claim);
        Assert.False(await claim.IsCancelRequestedAsync());

        var flagged = await store.RequestCancelAsync(job.Id);

        Assert.NotNull(flagged);
        Assert.Equal(JobStatus.Running, flagged.Status);
        Assert.True(flagged.CancelRequested);
        Assert.True(await claim.IsCancelRequestedAsync());
        Assert.True(await claim.CompleteAsync(new JobOutcome { Status = JobStatus.Cancelled, FinishedAt = Time.GetUtcNow() }));
        Assert.Equal(JobStatus.Cancelled, (await GetAsync(store, job.Id)).Status);
    }

    [SkippableFact]
    public async Task IsCancelRequested_IsTrue_WhenTheRunningJobWasDeleted()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await using var claim = await store.ClaimAsync("worker-1", TimeSpan.FromMinutes(1));
        Assert.NotNull(claim);

        Assert.True(await store.DeleteJobAsync(job.Id));

        // The worker's only check while a job runs: a deleted job must stop as a cancelled one does.
        Assert.True(await claim.IsCancelRequestedAsync());
    }

    [SkippableFact]
    public async Task RequestCancel_ChangesNothing_WhenJobEnded()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await using (var claim = await store.ClaimAsync("worker-1", TimeSpan.FromMinutes(1)))
        {
            Assert.True(await claim!.CompleteAsync(new JobOutcome { Status = JobStatus.Succeeded, ExitCode = 0, FinishedAt = Time.GetUtcNow() }));
        }

        var after = await store.RequestCancelAsync(job.Id);

        Assert.Equal(JobStatus.Succeeded, after?.Status);
        Assert.Null(await store.RequestCancelAsync("job_missing"));
    }

    [SkippableFact]
    public async Task DeleteJob_RemovesJobLogsAndArtifacts_WhenJobExists()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        var other = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await store.InsertJobAsync(other);
        await store.AppendLogsAsync(job.Id, [TestJobs.Line(1, "a"), TestJobs.Line(2, "b")]);
        await store.AppendLogsAsync(other.Id, [TestJobs.Line(1, "kept")]);
        await store.SaveArtifactAsync(job.Id, "out/result.txt", TestJobs.Bytes("result"));

        Assert.True(await store.DeleteJobAsync(job.Id));

        Assert.Null(await store.GetJobAsync(job.Id));
        Assert.Empty(await store.ReadLogsAsync(job.Id, 0, 100));
        Assert.Empty(await store.ListArtifactsAsync(job.Id));
        Assert.Null(await store.OpenArtifactAsync(job.Id, "out/result.txt"));
        Assert.Single(await store.ReadLogsAsync(other.Id, 0, 100));
        Assert.False(await store.DeleteJobAsync(job.Id));
    }

    [SkippableFact]
    public async Task DeleteEndedJobs_RemovesJobsThatEndedBeforeTheTime_WithTheirLogsAndArtifacts()
    {
        await using var store = await NewStoreAsync();
        var cutoff = TestJobs.Epoch.AddHours(1);
        var old = Ended(JobStatus.Succeeded, cutoff.AddMinutes(-30));
        var oldFailed = Ended(JobStatus.Failed, cutoff.AddMinutes(-1));
        var recent = Ended(JobStatus.Succeeded, cutoff.AddMinutes(1));
        // Queued and running jobs stay whatever their times say.
        var queued = TestJobs.Queued() with { FinishedAt = cutoff.AddDays(-1) };
        var running = TestJobs.Queued();
        await store.InsertJobAsync(running);
        await using var claim = await store.ClaimAsync("worker-1", TimeSpan.FromMinutes(1));
        Assert.Equal(running.Id, claim?.Job.Id);
        foreach (var job in new[] { old, oldFailed, recent, queued })
        {
            await store.InsertJobAsync(job);
        }
        await store.AppendLogsAsync(old.Id, [TestJobs.Line(1, "gone")]);
        await store.AppendLogsAsync(recent.Id, [TestJobs.Line(1, "kept")]);
        await store.SaveArtifactAsync(old.Id, "out/result.txt", TestJobs.Bytes("gone"));
        await store.SaveArtifactAsync(recent.Id, "result.txt", TestJobs.Bytes("kept"));

        var deleted = await store.DeleteEndedJobsAsync(cutoff, 100);

        Assert.Equal([old.Id, oldFailed.Id], deleted);
        Assert.Null(await store.GetJobAsync(old.Id));
        Assert.Null(await store.GetJobAsync(oldFailed.Id));
        Assert.Empty(await store.ReadLogsAsync(old.Id, 0, 100));
        Assert.Null(await store.OpenArtifactAsync(old.Id, "out/result.txt"));
        Assert.NotNull(await store.GetJobAsync(recent.Id));
        Assert.Single(await store.ReadLogsAsync(recent.Id, 0, 100));
        Assert.Single(await store.ListArtifactsAsync(recent.Id));
        Assert.Equal(JobStatus.Queued, (await GetAsync(store, queued.Id)).Status);
        Assert.Equal(JobStatus.Running, (await GetAsync(store, running.Id)).Status);
    }

    [SkippableFact]
    public async Task DeleteEndedJobs_TakesTheOldestFirst_UpToTheLimit()
    {
        await using var store = await NewStoreAsync();
        var first = Ended(JobStatus.Cancelled, TestJobs.Epoch.AddMinutes(1));
        var second = Ended(JobStatus.TimedOut, TestJobs.Epoch.AddMinutes(2));
        var third = Ended(JobStatus.Error, TestJobs.Epoch.AddMinutes(3));
        foreach (var job in new[] { third, first, second })
        {
            await store.InsertJobAsync(job);
        }

        Assert.Equal([first.Id, second.Id], await store.DeleteEndedJobsAsync(TestJobs.Epoch.AddHours(1), 2));
        Assert.Equal([third.Id], await store.DeleteEndedJobsAsync(TestJobs.Epoch.AddHours(1), 2));
        Assert.Empty(await store.DeleteEndedJobsAsync(TestJobs.Epoch.AddHours(1), 2));
    }

    [SkippableFact]
    public async Task DeleteEndedJobs_KeepsARuntimesSmokeTest_WhileTheRuntimePointsAtIt()
    {
        await using var store = await NewStoreAsync();
        var runtimes = store.Runtimes()!;
        var smoke = Ended(JobStatus.Failed, TestJobs.Epoch.AddMinutes(1));
        var other = Ended(JobStatus.Succeeded, TestJobs.Epoch.AddMinutes(2));
        await store.InsertJobAsync(smoke);
        await store.InsertJobAsync(other);
        await store.AppendLogsAsync(smoke.Id, [TestJobs.Line(1, "ModuleNotFoundError")]);
        var runtime = Runtime("science", RuntimeState.Failed) with { SmokeTestJobId = smoke.Id };
        Assert.True(await runtimes.TryInsertRuntimeAsync(runtime));

        Assert.Equal([other.Id], await store.DeleteEndedJobsAsync(TestJobs.Epoch.AddHours(1), 100));
        Assert.NotNull(await store.GetJobAsync(smoke.Id));
        Assert.Single(await store.ReadLogsAsync(smoke.Id, 0, 100));

        // Rebuilt with another smoke test: the old one is an ordinary job again.
        Assert.True(await runtimes.UpdateRuntimeAsync(runtime with { SmokeTestJobId = "job_newer" }));
        Assert.Equal([smoke.Id], await store.DeleteEndedJobsAsync(TestJobs.Epoch.AddHours(1), 100));
    }

    private static JobRecord Ended(JobStatus status, DateTimeOffset finishedAt) => TestJobs.Queued() with
    {
        Status = status,
        StartedAt = finishedAt.AddSeconds(-1),
        FinishedAt = finishedAt,
        Outcome = new JobOutcome { Status = status, FinishedAt = finishedAt },
    };

    private static async Task<List<string>> ListIdsAsync(IJobStore store, JobQuery query) =>
        (await store.ListJobsAsync(query)).Jobs.Select(job => job.Id).ToList();
}
