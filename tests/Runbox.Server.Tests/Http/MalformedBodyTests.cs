using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Http;

/// <summary>
/// Bodies that parse but do not say what they seem to: each answers a problem naming the field or header, where the server
/// had read them some other way than was meant.
/// </summary>
public sealed class MalformedBodyTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:NoWorker"] = "true" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonElement Problem)> PostAsync(string path, HttpContent content)
    {
        var response = await _server.Admin.PostAsync(path, content);
        return (response.StatusCode, await response.JsonAsync());
    }

    private Task<(HttpStatusCode Status, JsonElement Problem)> PostJsonAsync(string path, string json) =>
        PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private static string Error(JsonElement problem, string field) => problem.GetProperty("errors").GetProperty(field)[0].GetString()!;

    [Fact]
    public async Task OversizedHeadersAndUrls_AreRefusedUnread_AndTheServerGoesOnAnswering()
    {
        // Headers are buffered whole before any handler runs: without a cap one request could hold any amount of memory.
        using var bigHeader = new HttpRequestMessage(HttpMethod.Get, "/api/v1/jobs");
        bigHeader.Headers.TryAddWithoutValidation("X-Filler", new string('a', 64 * 1024));
        using var manyHeaders = new HttpRequestMessage(HttpMethod.Get, "/api/v1/jobs");
        for (var i = 0; i < 200; i++)
        {
            manyHeaders.Headers.TryAddWithoutValidation($"X-Filler-{i}", new string('b', 200));
        }
        var longUrl = await _server.Admin.GetAsync("/api/v1/jobs/" + new string('c', 64 * 1024));

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, (await _server.Admin.SendAsync(bigHeader)).StatusCode);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, (await _server.Admin.SendAsync(manyHeaders)).StatusCode);
        Assert.Equal(HttpStatusCode.RequestUriTooLong, longUrl.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.Admin.GetAsync("/api/v1/jobs")).StatusCode);
    }

    [Fact]
    public async Task Queries_RefuseAValueGivenTwice_NamingIt()
    {
        var list = await _server.Admin.GetAsync("/api/v1/jobs?status=queued&status=running");
        var logs = await _server.Admin.GetAsync("/api/v1/jobs/job_x/logs?after_seq=1&after_seq=2");

        Assert.Equal(HttpStatusCode.BadRequest, list.StatusCode);
        Assert.Equal("is given more than once.", Error(await list.JsonAsync(), "status"));
        Assert.Equal(HttpStatusCode.BadRequest, logs.StatusCode);
        Assert.Equal("is given more than once.", Error(await logs.JsonAsync(), "after_seq"));
        Assert.Equal(HttpStatusCode.OK, (await _server.Admin.GetAsync("/api/v1/jobs?status=queued&limit=5")).StatusCode);
    }

    [Fact]
    public async Task Submit_RefusesAMemberGivenTwice_NamingIt()
    {
        var script = await PostJsonAsync("/api/v1/jobs", """{"script": "print(1)", "script": "print(2)"}""");
        var env = await PostJsonAsync("/api/v1/jobs", """{"script": "print(1)", "env": {"A": "1", "A": "2"}}""");
        var task = await PostJsonAsync("/api/v1/tasks", """{"code": "print(1)", "timeout": 5, "timeout": 500}""");

        Assert.Equal(HttpStatusCode.BadRequest, script.Status);
        Assert.Equal("is given more than once.", Error(script.Problem, "script"));
        Assert.Equal(HttpStatusCode.BadRequest, env.Status);
        Assert.Equal("is given more than once.", Error(env.Problem, "env.A"));
        Assert.Equal(HttpStatusCode.BadRequest, task.Status);
        Assert.Equal("is given more than once.", Error(task.Problem, "timeout"));
    }

    [Fact]
    public async Task Submit_RefusesAMemberGivenTwiceInTwoCases_ButNotMapKeysThatDifferInCase()
    {
        // Field names match in any case, so the second spelling was the one read: /execute ran print(2).
        var execute = await PostJsonAsync("/execute", """{"script": "print(1)", "Script": "print(2)"}""");
        var limits = await PostJsonAsync("/api/v1/jobs", """{"script": "print(1)", "limits": {"memory_mb": 64, "Memory_MB": 4096}}""");
        var env = await PostJsonAsync("/api/v1/jobs", """{"script": "print(1)", "env": {"A": "1", "a": "2"}}""");

        Assert.Equal(HttpStatusCode.BadRequest, execute.Status);
        Assert.Equal("is given more than once (also as 'script': field names match in any case).", Error(execute.Problem, "Script"));
        Assert.Equal(HttpStatusCode.BadRequest, limits.Status);
        Assert.Equal("is given more than once (also as 'memory_mb': field names match in any case).", Error(limits.Problem, "limits.Memory_MB"));
        Assert.Equal(HttpStatusCode.Accepted, env.Status); // two variables
    }

    [Fact]
    public async Task Submit_RefusesAFileWithNullContent_InsteadOfRunningAnEmptyOne()
    {
        var (status, problem) = await PostJsonAsync("/api/v1/jobs", """{"files": {"main.py": null}}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("base64", Error(problem, "files[main.py]"));
    }

    [Fact]
    public async Task BulkCancel_RefusesANullId_InsteadOfA500()
    {
        var (status, problem) = await PostJsonAsync("/api/v1/jobs/cancel", """{"ids": ["a", null]}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("must be a job id (a string).", Error(problem, "ids[1]"));
    }

    [Fact]
    public async Task WrongKind_NestedTooDeep_IsNamedInJsonWords_NotByItsDotNetType()
    {
        var (status, problem) = await PostJsonAsync("/api/v1/jobs", $$"""{"script": "print(1)", "env": {{new string('[', 200)}}{{new string(']', 200)}}}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("must be an object.", Error(problem, "env"));
    }

    [Fact]
    public async Task Names_EndingInANewline_AreRefused()
    {
        var env = await PostJsonAsync("/api/v1/jobs", """{"script": "print(1)", "env": {"A\n": "x"}}""");
        var runtime = await PostJsonAsync("/api/v1/jobs", """{"script": "print(1)", "runtime": "default\n"}""");
        var created = await PostJsonAsync("/api/v1/runtimes", """{"name": "x\n"}""");
        var version = await PostJsonAsync("/api/v1/runtimes", """{"name": "x", "python_version": "3.12\n"}""");
        var preload = await PostJsonAsync("/api/v1/runtimes", """{"name": "x", "preload": ["json\n"]}""");

        Assert.Equal(HttpStatusCode.BadRequest, env.Status);
        Assert.Contains("the name must be", Error(env.Problem, "env[A\n]"));
        Assert.Equal(HttpStatusCode.BadRequest, runtime.Status);
        Assert.Contains("must be a runtime name", Error(runtime.Problem, "runtime"));
        Assert.Equal(HttpStatusCode.BadRequest, created.Status);
        Assert.Contains("must be 1-64", Error(created.Problem, "name"));
        Assert.Equal(HttpStatusCode.BadRequest, version.Status);
        Assert.Contains("Python 3 version", Error(version.Problem, "python_version"));
        Assert.Equal(HttpStatusCode.BadRequest, preload.Status);
        Assert.Contains("not a module name", Error(preload.Problem, "preload"));
    }

    [Fact]
    public async Task Submit_NamesTheMaximum_ForALimitTooLargeForADouble()
    {
        var (status, problem) = await PostJsonAsync("/api/v1/jobs", """{"script": "print(1)", "limits": {"timeout_seconds": 1e400}}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("must be at most 600 seconds (the server maximum).", Error(problem, "limits.timeout_seconds"));
    }

    [Fact]
    public async Task Submit_Answers415_ForACompressedOrNonUtf8Body()
    {
        var json = """{"script": "print(1)"}"""u8.ToArray();
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(json);
        }
        var gzipped = new ByteArrayContent(compressed.ToArray());
        gzipped.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        gzipped.Headers.ContentEncoding.Add("gzip");
        var latin1 = new ByteArrayContent(Encoding.Latin1.GetBytes("""{"script": "print('café')"}"""));
        latin1.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "iso-8859-1" };

        var (gzipStatus, gzipProblem) = await PostAsync("/api/v1/jobs", gzipped);
        var (latin1Status, latin1Problem) = await PostAsync("/api/v1/jobs", latin1);
        var plain = await _server.Admin.PostAsync("/api/v1/jobs", new StringContent("""{"script": "print(1)"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, gzipStatus);
        Assert.Contains("send the body uncompressed", Error(gzipProblem, "Content-Encoding"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, latin1Status);
        Assert.Contains("charset 'iso-8859-1' is not supported", Error(latin1Problem, "Content-Type"));
        Assert.Equal(HttpStatusCode.Accepted, plain.StatusCode);
    }
}
