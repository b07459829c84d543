using System.Net;
using System.Net.Http.Json;
using System.Text;
using Runbox.Server.Http;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Jobs;

/// <summary>The jobs API on a server without a worker, so jobs stay queued and every answer is deterministic.</summary>
public sealed class QueuedJobsApiTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(output, new Dictionary<string, string?>
    {
        ["Runbox:NoWorker"] = "true",
        ["Runbox:MaxRequestBodyBytes"] = "65536",
        ["Runbox:MaxJsonDepth"] = "8",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Submit_ReturnsAcceptedQueuedJob_WhenBodyIsValid()
    {
        var response = await _server.Admin.SubmitAsync(new JobSubmission { Script = "print(1)", Limits = new JobLimitsBody { TimeoutSeconds = 5, MemoryMb = 128 } });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await response.ReadAsync<JobResponse>();
        Assert.Equal($"/api/v1/jobs/{job.Id}", response.Headers.Location?.ToString());
        Assert.Equal("queued", job.Status);
        Assert.Equal("python", job.Language);
        Assert.Equal("default", job.Runtime);
        Assert.Equal(5, job.Limits.TimeoutSeconds);
        Assert.Equal(128, job.Limits.MemoryMb);
        Assert.StartsWith("key_", job.Owner);
        var json = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"created_at\":", json);
        Assert.Contains("\"cancel_requested\":false", json);
    }

    [Fact]
    public async Task Submit_RejectsWithTheMaximum_WhenLimitsAboveServerMaximums()
    {
        var response = await _server.Admin.SubmitAsync(new JobSubmission
        {
            Script = "print(1)",
            Limits = new JobLimitsBody { TimeoutSeconds = 100_000, MemoryMb = 1_000_000, Processes = 0, DiskMb = 1_000_000 },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.JsonAsync();
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        var errors = problem.GetProperty("errors");
        Assert.Contains("at most 600", errors.GetProperty("limits.timeout_seconds")[0].GetString());
        Assert.Contains("at most 4096", errors.GetProperty("limits.memory_mb")[0].GetString());
        Assert.Contains("greater than 0", errors.GetProperty("limits.processes")[0].GetString());
        Assert.Contains("at most 4096", errors.GetProperty("limits.disk_mb")[0].GetString());
    }

    [Theory]
    [InlineData("""{"script":"x","language":"cobol"}""", "language")]
    [InlineData("""{"script":"x","runtime":"/usr/bin/python3"}""", "runtime")]
    [InlineData("""{"script":"x","args":["a\u0000b"]}""", "args[0]")]
    [InlineData("""{"script":"x","env":{"A\u0000B":"1"}}""", "env[A?B]")]
    [InlineData("""{"script":"x","env":{"1BAD":"1"}}""", "env[1BAD]")]
    [InlineData("""{"files":{"../evil.py":"cHJpbnQoMSk="},"entrypoint":"../evil.py"}""", "files[../evil.py]")]
    [InlineData("""{"files":{"/etc/x.py":"cHJpbnQoMSk="}}""", "files[/etc/x.py]")]
    [InlineData("""{"files":{"a\\b.py":"cHJpbnQoMSk="}}""", "files[a\\b.py]")]
    [InlineData("""{"script":"x","files":{"main.py":"cHJpbnQoMSk="}}""", "files")]
    [InlineData("""{"script":"x","entrypoint":"/usr/bin/python3"}""", "entrypoint")]
    [InlineData("""{"script":"x","entrypoint":".."}""", "entrypoint")]
    [InlineData("""{"script":"x","entrypoint":"../report.py"}""", "entrypoint")]
    [InlineData("""{"script":"x","entrypoint":"sub/report.py"}""", "entrypoint")]
    [InlineData("""{"script":"x","entrypoint":""}""", "entrypoint")]
    [InlineData("""{}""", "script")]
    [InlineData("""{"script":"x","callback_url":"http://127.0.0.1:9/hook"}""", "callback_url")]
    [InlineData("""{"script":"x","callback_url":"http://10.1.2.3/hook"}""", "callback_url")]
    [InlineData("""{"script":"x","callback_url":"file:///etc/passwd"}""", "callback_url")]
    [InlineData("""{"script":"x","network":true}""", "network")]
    public async Task Submit_Returns400NamingTheField_WhenAFieldBreaksARule(string body, string field)
    {
        var response = await _server.Admin.PostAsync("/api/v1/jobs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
    }

    [Theory]
    [InlineData("""{"script":"x","limits":{"timeout":5}}""", "limits.timeout", "timeout_seconds")]
    [InlineData("""{"script":"x","memory_mb":64}""", "memory_mb", "limits")]
    [InlineData("""{"scrpt":"x"}""", "scrpt", "script")]
    public async Task Submit_Returns400NamingTheUnknownFieldAndTheKnownOnes_WhenAFieldIsMisspelt(string body, string field, string expected)
    {
        var response = await _server.Admin.PostAsync("/api/v1/jobs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var rule = (await response.JsonAsync()).GetProperty("errors").GetProperty(field)[0].GetString()!;
        Assert.StartsWith("unknown field", rule);
        Assert.Contains(expected, rule);
    }

    [Theory]
    [InlineData("/api/v1/jobs?limit=abc", "limit", "whole number")]
    [InlineData("/api/v1/jobs/01a23aca58517ad2838101ef30a41222/logs?after_seq=x", "after_seq", "whole number")]
    [InlineData("/api/v1/jobs/01a23aca58517ad2838101ef30a41222/logs?limit=9999999999", "limit", "whole number")]
    [InlineData("/api/v1/jobs?cursor=zzz", "cursor", "is not a cursor this server gave out")]
    [InlineData("/api/v1/jobs?cursor=eHx5", "cursor", "is not a cursor this server gave out")]
    public async Task Get_Returns400NamingTheQueryValue_WhenItDoesNotConvert(string url, string field, string rule)
    {
        var response = await _server.Admin.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.Contains(rule, problem.GetProperty("errors").GetProperty(field)[0].GetString());
        Assert.StartsWith($"{field}: ", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{"script":"x","env":[]}""", "env", "must be an object.")]
    [InlineData("""{"script":"x","args":"a b"}""", "args", "must be an array.")]
    [InlineData("""{"script":7}""", "script", "must be a string.")]
    [InlineData("""{"script":"x","network":"yes"}""", "network", "must be true or false.")]
    [InlineData("""{"script":"x","limits":{"memory_mb":"lots"}}""", "limits.memory_mb", "must be a whole number.")]
    [InlineData("""["script"]""", "body", "must be an object.")]
    [InlineData("""{"files":{"a.py":"print(1)"},"entrypoint":"a.py"}""", "files[a.py]", "must be the file's content as base64 text (\"\" for an empty file).")]
    public async Task Submit_Returns400SayingWhatKindOfValueAFieldTakes_WhenItHasAnother(string body, string field, string rule)
    {
        var response = await _server.Admin.PostAsync("/api/v1/jobs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.Equal(rule, problem.GetProperty("errors").GetProperty(field)[0].GetString());
        Assert.DoesNotContain("System.", problem.GetProperty("detail").GetString());
    }

    // The serializer (content not base64), the duplicate check and the validator (a bad name, content null) each refuse a
    // file: all three name it files[a.py], as docs/api.md does (the serializer had files['a.py']).
    [Theory]
    [InlineData("""{"files":{"a.py":"print(1)"},"entrypoint":"a.py"}""", "files[a.py]")]
    [InlineData("""{"files":{"a.py":"eA==","a.py":"eQ=="},"entrypoint":"a.py"}""", "files[a.py]")]
    [InlineData("""{"files":{"a.py":null},"entrypoint":"a.py"}""", "files[a.py]")]
    [InlineData("""{"files":{"../a.py":"eA=="}}""", "files[../a.py]")]
    [InlineData("""{"files":{"run":null},"entrypoint":"run"}""", "files.run")]
    [InlineData("""{"files":{"run":"print(1)"},"entrypoint":"run"}""", "files.run")]
    public async Task Submit_NamesAFileOneWay_WhicheverCheckRefusesIt(string body, string field)
    {
        var response = await _server.Admin.PostAsync("/api/v1/jobs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
        Assert.StartsWith($"{field}: ", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{"script":"x","limits":{"memory_mb":1.5}}""", "limits.memory_mb", "must be a whole number, without a fraction or exponent (got 1.5).")]
    [InlineData("""{"script":"x","limits":{"processes":1e3}}""", "limits.processes", "must be a whole number, without a fraction or exponent (got 1e3).")]
    [InlineData("""{"script":"x","max_attempts":2.0}""", "max_attempts", "must be a whole number, without a fraction or exponent (got 2.0).")]
    [InlineData("""{"script":"x","max_attempts":99999999999}""", "max_attempts", "must be a whole number from -2147483648 to 2147483647 (got 99999999999).")]
    public async Task Submit_Returns400SayingAWholeNumber_WhenANumberHasAFractionOrIsOutOfRange(string body, string field, string rule)
    {
        // Until 2026-12-04 these said "invalid JSON: ... out of bounds for an Int64", of a body that is valid JSON.
        var response = await _server.Admin.PostAsync("/api/v1/jobs", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.Equal(rule, problem.GetProperty("errors").GetProperty(field)[0].GetString());
        Assert.Equal($"{field}: {rule}", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Submit_Returns415SayingWhatToSend_WhenTheBodyIsNotMarkedJson()
    {
        var response = await _server.Admin.PostAsync("/api/v1/jobs", new StringContent("""{"script":"print(1)"}""", Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("Content-Type: application/json", (await response.JsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Submit_Returns400NamingWait_WhenItIsNotABoolean()
    {
        var response = await _server.Admin.PostAsync("/api/v1/jobs?wait=maybe", new StringContent("""{"script":"x"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("true or false", (await response.JsonAsync()).GetProperty("errors").GetProperty("wait")[0].GetString());
    }

    [Fact]
    public async Task Submit_Returns400_WhenBodyIsNotUtf8()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"script\":\"print(1)\"}");
        bytes[12] = 0xFF;

        var response = await _server.Admin.PostAsync("/api/v1/jobs", new ByteArrayContent(bytes));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("invalid", (await response.JsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Submit_Returns400_WhenStringHasLoneSurrogate()
    {
        var response = await _server.Admin.PostAsync("/api/v1/jobs", new StringContent("{\"script\":\"\\ud800\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Body_Returns400_WhenJsonIsTooDeep()
    {
        // The jobs API refuses an unknown field before reading its value; the compatibility adapters skip them, reading
        // them through, so that is where the depth cap guards.
        var deep = "{\"script\":\"x\",\"extra\":" + string.Concat(Enumerable.Repeat("{\"a\":", 20)) + "1" + new string('}', 20) + "}";

        var response = await _server.Admin.PostAsync("/execute", new StringContent(deep, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("depth", (await response.JsonAsync()).GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Submit_Returns413_WhenBodyIsLargerThanTheCap()
    {
        var huge = "{\"script\":\"" + new string('x', 200_000) + "\"}";

        var response = await _server.Admin.PostAsync("/api/v1/jobs", new StringContent(huge, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("65536", (await response.JsonAsync()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Submit_Returns413_WhenChunkedBodyGrowsPastTheCap()
    {
        var huge = Encoding.UTF8.GetBytes("{\"script\":\"" + new string('x', 200_000) + "\"}");
        using var content = new StreamContent(new MemoryStream(huge));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await _server.Admin.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task List_PagesNewestFirstWithCursor_WhenMoreJobsThanLimit()
    {
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await _server.Admin.SubmitOkAsync(new JobSubmission { Script = $"print({i})" })).Id);
        }

        var first = await (await _server.Admin.GetAsync("/api/v1/jobs?limit=3")).ReadAsync<JobListResponse>();
        var second = await (await _server.Admin.GetAsync($"/api/v1/jobs?limit=3&cursor={Uri.EscapeDataString(first.NextCursor!)}")).ReadAsync<JobListResponse>();

        Assert.Equal([ids[4], ids[3], ids[2]], first.Jobs.Select(j => j.Id));
        Assert.Equal([ids[1], ids[0]], second.Jobs.Select(j => j.Id));
        Assert.Null(second.NextCursor);
    }

    [Fact]
    public async Task List_FiltersByStatus_WhenStatusGiven()
    {
        var kept = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });
        var cancelled = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(2)" });
        (await _server.Admin.PostAsync($"/api/v1/jobs/{cancelled.Id}/cancel", null)).EnsureSuccessStatusCode();

        var queued = await (await _server.Admin.GetAsync("/api/v1/jobs?status=queued")).ReadAsync<JobListResponse>();
        var bad = await _server.Admin.GetAsync("/api/v1/jobs?status=done");
        var badLimit = await _server.Admin.GetAsync("/api/v1/jobs?limit=0");

        Assert.Equal([kept.Id], queued.Jobs.Select(j => j.Id));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("status", (await bad.JsonAsync()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
    }

    [Fact]
    public async Task Cancel_EndsAQueuedJobAsCancelled_ThenAnswers409()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });

        var first = await _server.Admin.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null);
        var second = await _server.Admin.PostAsync($"/api/v1/jobs/{job.Id}/cancel", null);

        Assert.Equal("cancelled", (await first.ReadAsync<JobResponse>()).Status);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("cancelled", (await _server.Admin.GetJobAsync(job.Id)).Status);
    }

    [Fact]
    public async Task Delete_RemovesTheJob_WhenItExists()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });

        var deleted = await _server.Admin.DeleteAsync($"/api/v1/jobs/{job.Id}");
        var again = await _server.Admin.DeleteAsync($"/api/v1/jobs/{job.Id}");
        var get = await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal("application/problem+json", get.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Logs_ReturnsAnEmptyPage_WhenTheJobHasNotRun()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });

        var page = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?after_seq=0&limit=10")).ReadAsync<LogPageResponse>();
        var bad = await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/logs?after_seq=-1");

        Assert.Empty(page.Lines);
        Assert.Equal(0, page.NextSeq);
        Assert.False(page.Done);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Wait_ReturnsTheJobStillQueued_WhenNoWorkerRunsItWithinTheBound()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:NoWorker"] = "true", ["Runbox:MaxWaitSeconds"] = "0.5" });

        var response = await server.Admin.SubmitAsync(new JobSubmission { Script = "print(1)" }, wait: true);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("queued", (await response.ReadAsync<JobResponse>()).Status);
    }

    [Fact]
    public async Task Artifacts_AreEmpty_WhenTheJobHasNone()
    {
        var job = await _server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)" });

        var list = await (await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/artifacts")).ReadAsync<ArtifactListResponse>();
        var missing = await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/artifacts/nothing.txt");
        var evil = await _server.Admin.GetAsync($"/api/v1/jobs/{job.Id}/artifacts/a%5Cb");

        Assert.Empty(list.Artifacts);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, evil.StatusCode);
    }

    [Fact]
    public async Task OpenApi_DescribesEveryEndpoint_WithoutAKey()
    {
        using var anonymous = _server.Client(null);

        var response = await anonymous.GetAsync("/openapi/v1.json");
        output.WriteLine(await response.Content.ReadAsStringAsync());
        var document = await response.JsonAsync();

        var paths = document.GetProperty("paths");
        foreach (var path in new[]
        {
            "/api/v1/jobs", "/api/v1/jobs/{id}", "/api/v1/jobs/{id}/logs", "/api/v1/jobs/{id}/events", "/api/v1/jobs/{id}/ws",
            "/api/v1/jobs/{id}/cancel", "/api/v1/jobs/{id}/artifacts", "/api/v1/jobs/{id}/stdout", "/api/v1/jobs/{id}/stderr",
            "/api/v1/keys", "/healthz", "/readyz", "/execute", "/status/{task_id}", "/api/v1/tasks", "/api/v1/tasks/{id}/stream",
        })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"missing {path}");
        }
        var limitKinds = document.GetProperty("components").GetProperty("schemas").GetProperty("JobResponse")
            .GetProperty("properties").GetProperty("limit_exceeded").GetProperty("enum").EnumerateArray()
            .Select(v => v.ValueKind == System.Text.Json.JsonValueKind.Null ? null : v.GetString());
        Assert.Equal(["none", "wall_time", "cpu_time", "memory", "processes", "output", "file_size", "disk", null], limitKinds);
    }
}
