using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace Runbox.Cli.Tests;

/// <summary>A server on which a key may hold one live stream at a time.</summary>
public sealed class StreamCappedCliFixture() : CliFixture(["--Runbox:RateLimit:StreamsPerKey=1"]);

/// <summary>
/// <c>run</c> when its key already holds all the live streams it may: the server's 429 says how long to wait, the CLI
/// waits that long, and when no stream frees it says how to follow the job it submitted.
/// </summary>
public sealed class StreamCapTests(StreamCappedCliFixture server, ITestOutputHelper output) : IClassFixture<StreamCappedCliFixture>
{
    private const string JobId = "0123456789abcdef0123456789abcdef";

    [Fact]
    public async Task Run_WaitsAsTheStreamCapsRetryAfterAsks_ThenFollowsTheJob()
    {
        using var admin = server.AdminClient();
        using var submitted = await admin.PostAsJsonAsync("/api/v1/jobs", new { script = "import time\ntime.sleep(120)" });
        var sleeper = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        // The key's one stream, held by another client until the CLI has been told to wait.
        var held = await admin.GetAsync($"/api/v1/jobs/{sleeper}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        var script = Path.Combine(server.DataDirectory, "capped.py");
        await File.WriteAllTextAsync(script, "print('followed')\n");

        var (code, stdout, stderr) = await server.RunWatchingStderrAsync(
            line =>
            {
                if (line.StartsWith("runbox: the server is busy", StringComparison.Ordinal))
                {
                    held.Dispose();
                }
            },
            "run", script);
        held.Dispose();
        await admin.PostAsync($"/api/v1/jobs/{sleeper}/cancel", null);
        output.WriteLine(stderr);

        Assert.Equal(0, code);
        Assert.Equal("followed\n", stdout);
        Assert.NotEmpty(stderr);
        Assert.All(stderr.TrimEnd('\n').Split('\n'), line => Assert.Equal("runbox: the server is busy (HTTP 429); trying again in 5 s", line));
    }

    [Fact]
    public async Task Run_SaysTheJobKeepsRunningAndHowToFollowIt_WhenNoStreamFrees()
    {
        var (code, stdout, stderr) = await StandInServer.RunCliAsync(api =>
        {
            api.MapPost("/api/v1/jobs", () => Results.Text(
                """{"id":"JOB","owner":"k","status":"queued","language":"python","runtime":"default","limits":{}}""".Replace("JOB", JobId), "application/json"));
            api.MapGet("/api/v1/jobs/{id}/events", (HttpContext context) =>
            {
                context.Response.Headers.RetryAfter = "0";
                return Results.Problem("This key may hold at most 1 live streams open at once.", statusCode: StatusCodes.Status429TooManyRequests);
            });
        }, "print(1)\n", "run", "-");
        output.WriteLine(stderr);

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.Equal("runbox: the server is still busy after 4 tries (HTTP 429): This key may hold at most 1 live streams open at once; " +
            $"job {JobId} keeps running: follow it with 'runbox jobs logs {JobId} -f'", lines[^1]);
    }
}
