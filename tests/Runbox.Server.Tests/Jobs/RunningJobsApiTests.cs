using System.Net;
using System.Text;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Jobs;

/// <summary>Jobs run end to end: the real engine behind the real server.</summary>
public sealed class RunningJobsApiTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(output);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task SubmitWait_ReturnsTheWholeResult_WhenTheJobEndsWithinTheBound()
    {
        var response = await _server.Admin.SubmitAsync(new JobSubmission
        {
            Script = "import sys\nprint('hello', sys.argv[1])\nprint('oops', file=sys.stderr)\nsys.exit(3)",
            Args = ["world"],
        }, wait: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var job = await response.ReadAsync<JobResponse>();
        Assert.Equal("failed", job.Status);
        Assert.Equal(3, job.ExitCode);
        Assert.Equal("hello world\n", job.Stdout);
        Assert.Equal("oops\n", job.Stderr);
        Assert.Equal("none", job.LimitExceeded);
        Assert.NotNull(job.StartedAt);
        Assert.NotNull(job.FinishedAt);
        Assert.Equal(1, job.Attempt);
        Assert.NotNull(job.WallMs);
    }

    [Fact]
    public async Task SubmitWait_ShowsTheWallTimeTheJobTook()
    {
        // The first jobs after a start: a 60 ms job answered wall_ms 0, the engine having heard of its start late.
        for (var i = 0; i < 5; i++)
        {
            var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\ntime.sleep(0.06)" }, wait: true);

            Assert.Equal("succeeded", job.Status);
            Assert.True(job.WallMs is >= 60 and < 10_000, $"job {i}: wall_ms {job.WallMs} for a job that slept 60 ms");
        }
    }

    [Fact]
    public async Task Logs_PageThroughEveryLine_AfterTheJobEnded()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import sys\nfor i in range(250): sys.stdout.write(f'{i}\\n')" }, wait: true);

        var first = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?limit=200")).ReadAsync<LogPageResponse>();
        var second = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?after_seq={first.NextSeq}&limit=200")).ReadAsync<LogPageResponse>();

        Assert.Equal(200, first.Lines.Count);
        Assert.False(first.Done);
        Assert.Equal(50, second.Lines.Count);
        Assert.True(second.Done);
        Assert.Equal(Enumerable.Range(0, 250).Select(i => i.ToString()), first.Lines.Concat(second.Lines).Select(l => l.Text));
        Assert.Equal(Enumerable.Range(1, 250).Select(i => (long)i), first.Lines.Concat(second.Lines).Select(l => l.Seq));
        Assert.All(first.Lines, l => Assert.Equal("stdout", l.Stream));
    }

    [Fact]
    public async Task List_LeavesStdoutAndStderrNull_WhileTheJobItselfHasThem()
    {
        // A list of 200 jobs of up to Maximums:OutputBytes each was hundreds of megabytes; the job's own page has them.
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import sys\nprint('out')\nprint('err', file=sys.stderr)" }, wait: true);

        var page = await (await _server.Admin.GetAsync("/api/v1/jobs?limit=200")).ReadAsync<JobListResponse>();
        var one = await _server.Admin.GetJobAsync(job.Id);

        var listed = Assert.Single(page.Jobs, j => j.Id == job.Id);
        Assert.Equal(("succeeded", 0), (listed.Status, listed.ExitCode));
        Assert.Null(listed.Stdout);
        Assert.Null(listed.Stderr);
        Assert.Equal(("out\n", "err\n"), (one.Stdout, one.Stderr));
    }

    [Fact]
    public async Task StdoutAndStderr_ReturnTheExactBytes_WhenOutputIsNotUtf8()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "import sys\nsys.stdout.buffer.write(b'\\xff\\xfeok\\n')\nsys.stderr.buffer.write(b'err\\x00\\n')",
        }, wait: true);

        var stdout = await _server.Admin.GetByteArrayAsync($"/api/v1/jobs/{job.Id}/stdout");
        var stderr = await _server.Admin.GetByteArrayAsync($"/api/v1/jobs/{job.Id}/stderr");

        Assert.Equal(new byte[] { 0xFF, 0xFE, (byte)'o', (byte)'k', (byte)'\n' }, stdout);
        Assert.Equal("err\0\n"u8.ToArray(), stderr);
        Assert.Equal("\uFFFD\uFFFDok\n", job.Stdout);
    }

    [Fact]
    public async Task Artifacts_AreListedAndDownloadable_WhenTheScriptLeavesFiles()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "import os\nos.makedirs('out', exist_ok=True)\nopen('out/report.txt','w').write('result 42')",
        }, wait: true);

        var list = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/artifacts")).ReadAsync<ArtifactListResponse>();
        var artifact = Assert.Single(list.Artifacts, a => a.Name == "out/report.txt");
        var content = await _server.Admin.GetStringAsync(artifact.Url);

        Assert.Equal("succeeded", job.Status);
        Assert.Equal(9, artifact.Size);
        Assert.Equal("result 42", content);
        Assert.Contains(job.Artifacts!, a => a.Name == "out/report.txt");
    }

    [Fact]
    public async Task EveryListedArtifact_IsDownloadable_WhileNamesThatClimbOutAreRefused()
    {
        // Names a submitted file may not have (a tab, a path over 255 characters) are still a job's own files: listed, so
        // downloadable, where the download once answered 400 by the rule for submitted names.
        var deep = string.Join('/', Enumerable.Range(0, 6).Select(i => $"level{i}-{new string('d', 50)}"));
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = $"import os\nopen('tab\\there.txt','w').write('tab')\nos.makedirs('{deep}')\nopen('{deep}/r.txt','w').write('deep')\n",
        }, wait: true);

        var list = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/artifacts")).ReadAsync<ArtifactListResponse>();
        var tab = Assert.Single(list.Artifacts, a => a.Name == "tab\there.txt");
        var longPath = Assert.Single(list.Artifacts, a => a.Name == deep + "/r.txt");
        var tabAnswer = await _server.Admin.GetAsync(tab.Url);
        var longAnswer = await _server.Admin.GetAsync(longPath.Url);
        Assert.True(tabAnswer.StatusCode == HttpStatusCode.OK, await tabAnswer.Content.ReadAsStringAsync());
        Assert.Equal("tab", await tabAnswer.Content.ReadAsStringAsync());
        Assert.True(longAnswer.StatusCode == HttpStatusCode.OK, await longAnswer.Content.ReadAsStringAsync());
        Assert.Equal("deep", await longAnswer.Content.ReadAsStringAsync());

        // Up and out of the job's artifacts, to the server's database two folders above: refused or not found, never read.
        foreach (var name in new[] { "..%2F..%2Frunbox.db", "%2e%2e/%2e%2e/runbox.db", "a%5C..%5C..%5Crunbox.db", "%2Fetc%2Fpasswd", "x%00.txt" })
        {
            var answer = await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/artifacts/{name}");
            Assert.True(answer.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{name}: {(int)answer.StatusCode}");
        }
    }

    [Fact]
    public async Task Cancel_StopsARunningJob_WhenAsked()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('started', flush=True)\ntime.sleep(60)" });
        await WaitForLineAsync(job.Id);

        var cancel = await _server.Admin.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null);
        var ended = await _server.Admin.WaitEndedAsync(job.Id, 20);

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("cancelled", ended.Status);
    }

    [Fact]
    public async Task Delete_KillsAndRemovesARunningJob_WhenAsked()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('started', flush=True)\ntime.sleep(60)" });
        await WaitForLineAsync(job.Id);

        var deleted = await _server.Admin.DeleteAsync($"/api/v1/jobs/{job.Id}");
        var after = await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}");
        // The slot frees once the engine killed the run: a new job then runs at once.
        var next = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('next')" }, wait: true);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        Assert.Equal("next\n", next.Stdout);
    }

    [Fact]
    public async Task SubmitWait_AnswersTheJobEndedAsDeleted_WhenItIsDeletedWhileTheRequestWaits()
    {
        var waiting = _server.Admin.SubmitAsync(new JobSubmission { Script = "import time\nprint('started', flush=True)\ntime.sleep(60)" }, wait: true);
        var id = await RunningJobIdAsync();
        await WaitForLineAsync(id);

        var deleted = await _server.Admin.DeleteAsync($"/api/v1/jobs/{id}");
        var response = await waiting.WaitAsync(TimeSpan.FromSeconds(30));

        // The request ends with the delete, saying so, rather than 202 "queued" with a Location that answers 404.
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var job = await response.ReadAsync<JobResponse>();
        Assert.Equal(id, job.Id);
        Assert.Equal("cancelled", job.Status);
        Assert.Equal("deleted: the job was deleted while the request waited for it", job.Error);
        Assert.Null(job.ExitCode);
    }

    /// <summary>The id of the one job the test submitted, once the server has it.</summary>
    private async Task<string> RunningJobIdAsync()
    {
        for (var i = 0; i < 300; i++)
        {
            var page = await (await _server.Admin.GetAsync("/api/v1/jobs")).ReadAsync<JobListResponse>();
            if (page.Jobs.Count > 0)
            {
                return page.Jobs[0].Id;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("the job was not listed within 30 s");
    }

    [Fact]
    public async Task Submit_RunsEveryLanguage_WithFilesAndStdinAndEnv()
    {
        var bash = await _server.Admin.SubmitOkAsync(new JobSubmission { Language = "bash", Script = "read line; echo \"$line $GREETING\"", Stdin = "hi\n", Env = new() { ["GREETING"] = "there" } }, wait: true);
        var files = await _server.Admin.SubmitOkAsync(new JobSubmission
        {
            Files = new() { ["app/run.py"] = Encoding.UTF8.GetBytes("import helper\nhelper.go()"), ["app/helper.py"] = Encoding.UTF8.GetBytes("def go(): print('from helper')") },
            Entrypoint = "app/run.py",
        }, wait: true);

        Assert.Equal("hi there\n", bash.Stdout);
        Assert.Equal("from helper\n", files.Stdout);
    }

    [Theory]
    [InlineData("report.py", false)]
    [InlineData("report.py", true)]
    [InlineData(null, false)]
    [InlineData(null, true)]
    public async Task Submit_RunsTheScriptUnderItsEntrypoint_OnTheFastPathAndFresh(string? entrypoint, bool fresh)
    {
        const string script = "import os, sys\nprint(os.path.basename(__file__), os.path.basename(sys.argv[0]))\nraise ValueError('boom')\n";
        var name = entrypoint ?? "main.py";

        var ended = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = script, Entrypoint = entrypoint, Fresh = fresh }, wait: true);
        var job = await _server.Admin.GetJobAsync(ended.Id);

        Assert.Equal($"{name} {name}\n", job.Stdout);
        Assert.Contains($"{name}\", line 3, in <module>", job.Stderr);
        Assert.EndsWith("ValueError: boom\n", job.Stderr);
        // Kept with the job, so that it can be shown and run again under the same name.
        Assert.Equal(entrypoint, job.Entrypoint);
        Assert.Equal(script, job.Script);
    }

    [Fact]
    public async Task Submit_EndsTimedOut_WhenTheScriptOutlivesItsTimeout()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\ntime.sleep(30)", Limits = new JobLimitsBody { TimeoutSeconds = 1 } }, wait: true);

        Assert.Equal("timed_out", job.Status);
        Assert.Equal("wall_time", job.LimitExceeded);
    }

    [SkippableFact]
    public async Task Submit_EndsFailedWithDisk_WhenTheScriptFillsItsFolder()
    {
        using var anonymous = _server.Client(null);
        var ready = await (await anonymous.GetAsync("/readyz")).JsonAsync();
        if (!ready.GetProperty("sandbox").GetProperty("disk_limit").GetBoolean())
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "CI runs as root, where job folders have a disk limit");
            Skip.If(true, "job folders have no disk limit here (not root)");
        }

        var job = await _server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "with open('fill', 'wb') as f:\n    while True:\n        f.write(b'z' * 65536)",
            Limits = new JobLimitsBody { DiskMb = 2, FileSizeMb = 64 },
        }, wait: true);

        Assert.Equal("failed", job.Status);
        Assert.Equal("disk", job.LimitExceeded);
        Assert.Contains("No space left on device", job.Stderr);
        Assert.Equal(2, job.Limits.DiskMb);
    }

    [Fact]
    public async Task Get_ShowsLiveOutput_WhileTheJobRuns()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('partial', flush=True)\ntime.sleep(60)" });
        await WaitForLineAsync(job.Id);

        var running = await _server.Admin.GetJobAsync(job.Id);
        var stdout = await _server.Admin.GetStringAsync($"/api/v1/jobs/{job.Id}/stdout");
        await _server.Admin.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null);

        Assert.Equal("running", running.Status);
        Assert.Null(running.ExitCode);
        Assert.Equal("partial\n", stdout);
    }

    [Fact]
    public async Task Stdout_JoinsTheLinesPiecesWithoutANewline_WhileTheJobRuns()
    {
        // A prompt, then the rest of its line once the job has been quiet (each part is logged as a piece of one line).
        // The quiet time is 200 ms; the 3 s leave room for a loaded machine that runs the quiet timer late.
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission
        {
            Script = "import sys, time\nsys.stdout.write('answer: '); sys.stdout.flush()\ntime.sleep(3)\nprint('42', flush=True)\ntime.sleep(60)",
        });
        await WaitForLineAsync(job.Id, lines: 2);

        var stdout = await _server.Admin.GetStringAsync($"/api/v1/jobs/{job.Id}/stdout");
        await _server.Admin.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null);

        Assert.Equal("answer: 42\n", stdout);
    }

    private async Task WaitForLineAsync(string id, int lines = 1)
    {
        for (var i = 0; i < 300; i++)
        {
            var page = await (await _server.Admin.GetAsync($"/api/v1/jobs/{id}/logs")).ReadAsync<LogPageResponse>();
            if (page.Lines.Count >= lines)
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail("the job printed nothing within 30 s");
    }
}
