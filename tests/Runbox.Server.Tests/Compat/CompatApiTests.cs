using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Compat;

public sealed class CompatApiTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(output);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ExecuteAndStatus_ReportSuccessWithTheResult_WhenTheScriptExitsZero()
    {
        var response = await _server.Admin.PostAsJsonAsync("/execute", new { script = "print('hi')" });
        var taskId = (await response.JsonAsync()).GetProperty("task_id").GetString()!;

        var status = await WaitStateAsync(taskId);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(taskId, status.GetProperty("task_id").GetString());
        // Capitalized, as the service /execute stands in for wrote its states.
        Assert.Equal("Success", status.GetProperty("state").GetString());
        Assert.Equal(0, status.GetProperty("result").GetProperty("exit_code").GetInt32());
        Assert.Equal("hi\n", status.GetProperty("result").GetProperty("stdout").GetString());
        Assert.Equal("", status.GetProperty("result").GetProperty("stderr").GetString());
    }

    [Fact]
    public async Task Status_ReportsError_WhenTheScriptExitsNonZero()
    {
        var taskId = (await (await _server.Admin.PostAsJsonAsync("/execute", new { script = "import sys; sys.exit(2)" })).JsonAsync()).GetProperty("task_id").GetString()!;

        var status = await WaitStateAsync(taskId);

        Assert.Equal("Error", status.GetProperty("state").GetString());
        Assert.Equal(2, status.GetProperty("result").GetProperty("exit_code").GetInt32());
    }

    [Fact]
    public async Task Status_ShowsRunning_ThenErrorSayingCancelled_WhenTheJobIsCancelledThroughTheJobsApi()
    {
        var taskId = (await (await _server.Admin.PostAsJsonAsync("/execute", new { script = "import time\nprint('up', flush=True)\ntime.sleep(60)" }))
            .JsonAsync()).GetProperty("task_id").GetString()!;
        var running = await (await _server.Admin.GetAsync($"/status/{taskId}")).JsonAsync();
        for (var i = 0; i < 600 && running.GetProperty("state").GetString() == "Pending"; i++)
        {
            await Task.Delay(50);
            running = await (await _server.Admin.GetAsync($"/status/{taskId}")).JsonAsync();
        }

        (await _server.Admin.PostAsync($"/api/v1/jobs/{taskId}/cancel", null)).EnsureSuccessStatusCode();
        var status = await WaitStateAsync(taskId);

        Assert.Equal("Running", running.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, running.GetProperty("result").ValueKind);
        Assert.Equal("Error", status.GetProperty("state").GetString());
        Assert.Equal("cancelled", status.GetProperty("result").GetProperty("error").GetString());
    }

    [Fact]
    public async Task Tasks_SayWhyTheyEndedInError_WhenATimeoutOrASignalEndedThem_AndNotWhenTheScriptExited()
    {
        async Task<JsonElement> RunAsync(object body)
        {
            var taskId = (await (await _server.Admin.PostAsJsonAsync("/api/v1/tasks", body)).JsonAsync()).GetProperty("task_id").GetString()!;
            await WaitStateAsync(taskId);
            return await (await _server.Admin.GetAsync($"/api/v1/tasks/{taskId}")).JsonAsync();
        }

        var timedOut = await RunAsync(new { code = "import time\ntime.sleep(30)", timeout = 1 });
        var killed = await RunAsync(new { code = "import os\nos.kill(os.getpid(), 9)" });
        var exited = await RunAsync(new { code = "raise SystemExit(3)" });

        // Every one is "error"; only "error" tells a timeout from a crash from a script's own exit code.
        Assert.Equal(("error", "timed_out: wall_time limit exceeded"), (timedOut.GetProperty("status").GetString(), timedOut.GetProperty("error").GetString()));
        Assert.Equal(("error", "killed by signal 9"), (killed.GetProperty("status").GetString(), killed.GetProperty("error").GetString()));
        Assert.Equal(("error", 3), (exited.GetProperty("status").GetString(), exited.GetProperty("exit_code").GetInt32()));
        Assert.Equal(JsonValueKind.Null, exited.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task Execute_RunsTheScript_WhenTheBodyHasFieldsRunboxDoesNotKnow()
    {
        // Clients of the replaced service send its other fields; the adapter ignores them as that service did.
        var response = await _server.Admin.PostAsJsonAsync("/execute", new { script = "print('hi')", priority = "high", tags = new[] { "a" } });
        var taskId = (await response.JsonAsync()).GetProperty("task_id").GetString()!;

        var status = await WaitStateAsync(taskId);

        Assert.Equal("Success", status.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Execute_Returns400_WhenScriptMissing()
    {
        var response = await _server.Admin.PostAsJsonAsync("/execute", new { code = "print(1)" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("script", (await response.JsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Tasks_RunWithLimitsAndServeLogsMetricsStreamAndList_WhenCreated()
    {
        var create = await _server.Admin.PostAsJsonAsync("/api/v1/tasks", new { code = "print('x' * 3)", language = "python", cpu_limit = 1, memory_limit = "256m", timeout = 10 });
        var taskId = (await create.JsonAsync()).GetProperty("task_id").GetString()!;
        await WaitStateAsync(taskId);

        var task = await (await _server.Admin.GetAsync($"/api/v1/tasks/{taskId}")).JsonAsync();
        var logs = await (await _server.Admin.GetAsync($"/api/v1/tasks/{taskId}/logs")).JsonAsync();
        var metrics = await (await _server.Admin.GetAsync($"/api/v1/tasks/{taskId}/metrics")).JsonAsync();
        var stream = await _server.Admin.GetStringAsync($"/api/v1/tasks/{taskId}/stream");
        var list = await (await _server.Admin.GetAsync("/api/v1/tasks?limit=1")).JsonAsync();
        var job = await _server.Admin.GetJobAsync(taskId);

        Assert.Equal("success", task.GetProperty("status").GetString());
        Assert.Equal("xxx\n", task.GetProperty("stdout").GetString());
        Assert.Equal("xxx", logs.GetProperty("logs")[0].GetProperty("text").GetString());
        Assert.True(metrics.GetProperty("cpu_time_seconds").GetDouble() >= 0);
        Assert.True(metrics.GetProperty("memory_peak_bytes").GetInt64() > 0);
        Assert.Contains("event: log\ndata: {\"seq\":1,", stream);
        Assert.Contains("event: result", stream);
        var listed = Assert.Single(list.GetProperty("tasks").EnumerateArray());
        Assert.Equal(taskId, listed.GetProperty("task_id").GetString());
        // Listed tasks keep their output, as the tasks adapter's list always gave it (REST's jobs list leaves it out).
        Assert.Equal("xxx\n", listed.GetProperty("stdout").GetString());
        Assert.Equal(256, job.Limits.MemoryMb);
        Assert.Equal(10, job.Limits.TimeoutSeconds);
        Assert.Equal(10, job.Limits.CpuSeconds);
    }

    [Fact]
    public async Task TaskStream_ResumesAfterTheGivenLine_EndsWithTheTask_AndNamesTheTaskItCannotFind()
    {
        var taskId = (await (await _server.Admin.PostAsJsonAsync("/api/v1/tasks", new { code = "print('a')\nprint('b')\nprint('c')" })).JsonAsync())
            .GetProperty("task_id").GetString()!;
        await WaitStateAsync(taskId);

        var resumed = await _server.Admin.GetStringAsync($"/api/v1/tasks/{taskId}/stream?after_seq=2");
        var negative = await _server.Admin.GetAsync($"/api/v1/tasks/{taskId}/stream?after_seq=-1");
        var missing = await _server.Admin.GetAsync("/api/v1/tasks/nope/stream");

        Assert.DoesNotContain("\"text\":\"a\"", resumed);
        Assert.DoesNotContain("\"text\":\"b\"", resumed);
        Assert.Contains("event: log\ndata: {\"seq\":3,", resumed);
        // The last event is the task, in the tasks API's shape and words, not the job's.
        var result = JsonDocument.Parse(resumed.Split("event: result\ndata: ")[1].Split('\n')[0]).RootElement;
        Assert.Equal(taskId, result.GetProperty("task_id").GetString());
        Assert.Equal("success", result.GetProperty("status").GetString());
        Assert.Equal("a\nb\nc\n", result.GetProperty("stdout").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        Assert.Equal("after_seq: must be 0 or more.", (await negative.JsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("There is no task 'nope' visible to this key.", (await missing.JsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task TaskStream_EndsWithAResultSayingTheTaskWasDeleted_WhenItIsDeletedWhileItStreams()
    {
        var taskId = (await (await _server.Admin.PostAsJsonAsync("/api/v1/tasks", new { code = "import time\nprint('working', flush=True)\ntime.sleep(60)" })).JsonAsync())
            .GetProperty("task_id").GetString()!;
        using var response = await _server.Admin.GetAsync($"/api/v1/tasks/{taskId}/stream", HttpCompletionOption.ResponseHeadersRead);
        using var events = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await events.ReadLineAsync(patience.Token) is { } line && !line.Contains("\"working\"", StringComparison.Ordinal))
        {
        }

        Assert.Equal(HttpStatusCode.NoContent, (await _server.Admin.DeleteAsync($"/api/v1/jobs/{taskId}")).StatusCode);
        var rest = await events.ReadToEndAsync(patience.Token);
        output.WriteLine(rest);

        // The stream ends as every task stream does, with the task: a client reading up to its result is not left
        // without one (a resume would only find the task gone).
        Assert.Contains("event: result\ndata: ", rest);
        var result = JsonDocument.Parse(rest.Split("event: result\ndata: ")[1].Split('\n')[0]).RootElement;
        Assert.Equal(taskId, result.GetProperty("task_id").GetString());
        Assert.Equal("error", result.GetProperty("status").GetString());
        Assert.Equal("deleted: the task was deleted while its stream was open", result.GetProperty("error").GetString());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("exit_code").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Admin.GetAsync($"/api/v1/tasks/{taskId}")).StatusCode);
    }

    [Fact]
    public async Task TaskLogs_SayMoreLinesFollow_WhenTheTaskPrintedMoreThanOneAnswerHolds()
    {
        var many = (await (await _server.Admin.PostAsJsonAsync("/api/v1/tasks", new { code = "for i in range(10005): print(i)" })).JsonAsync())
            .GetProperty("task_id").GetString()!;
        var few = (await (await _server.Admin.PostAsJsonAsync("/api/v1/tasks", new { code = "print('one')" })).JsonAsync()).GetProperty("task_id").GetString()!;
        await WaitStateAsync(many);
        await WaitStateAsync(few);

        var manyLogs = await (await _server.Admin.GetAsync($"/api/v1/tasks/{many}/logs")).JsonAsync();
        var fewLogs = await (await _server.Admin.GetAsync($"/api/v1/tasks/{few}/logs")).JsonAsync();
        var rest = await (await _server.Admin.GetAsync($"/api/v1/jobs/{many}/logs?after_seq={manyLogs.GetProperty("next_seq").GetInt64()}")).JsonAsync();
        var first = manyLogs.GetProperty("logs").EnumerateArray().ToList();

        // The first 10 000 log lines, saying so, rather than a list that silently stops; stdout is whole. The job's
        // output is block-buffered: on a loaded machine a pause between two 8 KiB writes can log a line as two pieces,
        // so the lines are counted by what they join to, not by their numbers.
        Assert.Equal(10_000, first.Count);
        Assert.False(manyLogs.GetProperty("done").GetBoolean());
        Assert.Equal(first[^1].GetProperty("seq").GetInt64(), manyLogs.GetProperty("next_seq").GetInt64());
        Assert.EndsWith("10003\n10004\n", manyLogs.GetProperty("stdout").GetString());
        Assert.Equal(
            string.Concat(Enumerable.Range(0, 10_005).Select(i => $"{i}\n")),
            Joined(first) + Joined(rest.GetProperty("lines").EnumerateArray()));
        Assert.True(fewLogs.GetProperty("done").GetBoolean());
        Assert.Equal(1, fewLogs.GetProperty("next_seq").GetInt64());
    }

    [Fact]
    public async Task Tasks_GiveCpuLimitTimesTheDefaultTimeout_WhenNoTimeoutIsGiven_AndNameUnitsInRefusals()
    {
        var create = await _server.Admin.PostAsJsonAsync("/api/v1/tasks", new { code = "print(1)", cpu_limit = 1 });
        var big = await _server.Admin.PostAsJsonAsync("/api/v1/tasks", new { code = "print(1)", memory_limit = "100g" });
        var job = await _server.Admin.GetJobAsync((await create.JsonAsync()).GetProperty("task_id").GetString()!);

        // One core for the 30 s a task without a timeout may run, not for the server's longest timeout.
        Assert.Equal(30, job.Limits.CpuSeconds);
        Assert.Equal(HttpStatusCode.BadRequest, big.StatusCode);
        Assert.Matches(@"memory_limit: must be at most \d+ MB \(the server maximum\)", (await big.JsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Tasks_Return400SayingTheAllowedRange_WhenCpuLimitIsTooLarge()
    {
        var response = await _server.Admin.PostAsJsonAsync("/api/v1/tasks", new { code = "print(1)", cpu_limit = 2000 });

        // 2000 is a positive number: a refusal saying it must be one would leave the client guessing.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("cpu_limit: must be a number of CPU cores above 0 and below 1024, such as 1 or \"0.5\".",
            (await response.JsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Tasks_Return400NamingTheTimeoutAlone_WhenTheTimeoutIsWrongBesideAGoodCpuLimit()
    {
        var response = await _server.Admin.PostAsJsonAsync("/api/v1/tasks", new { code = "print(1)", cpu_limit = 1, timeout = -1 });

        // cpu_limit 1 is fine: the CPU seconds made of it and the bad timeout (-1) were refused under its name as well.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("timeout: must be greater than 0.", (await response.JsonAsync()).GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{"code":"x","memory_limit":"lots"}""", "memory_limit")]
    [InlineData("""{"code":"x","timeout":100000}""", "timeout")]
    [InlineData("""{"code":"x","cpu_limit":-1}""", "cpu_limit")]
    [InlineData("""{"code":"x","language":"cobol"}""", "language")]
    public async Task Tasks_Return400NamingTheirOwnField_WhenAFieldIsWrong(string body, string field)
    {
        var response = await _server.Admin.PostAsync("/api/v1/tasks", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, (await response.JsonAsync()).GetProperty("detail").GetString());
    }

    /// <summary>Log lines as the job wrote them: a piece (<c>"ended": false</c>) runs on into the next.</summary>
    private static string Joined(IEnumerable<JsonElement> lines) => string.Concat(lines.Select(line =>
        line.GetProperty("text").GetString() + (line.TryGetProperty("ended", out var ended) && !ended.GetBoolean() ? "" : "\n")));

    private async Task<JsonElement> WaitStateAsync(string taskId)
    {
        for (var i = 0; i < 300; i++)
        {
            var status = await (await _server.Admin.GetAsync($"/status/{taskId}")).JsonAsync();
            if (status.GetProperty("state").GetString() is not ("Pending" or "Running"))
            {
                return status;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"task {taskId} did not end");
    }
}
