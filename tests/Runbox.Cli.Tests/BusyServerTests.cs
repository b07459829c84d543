using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace Runbox.Cli.Tests;

/// <summary>
/// Client commands against a server that answers 429 (its rate limit) or 503 with Retry-After: they wait as asked,
/// saying so, and try again a few times before giving up in one line.
/// </summary>
public sealed class BusyServerTests(RateLimitedCliFixture server, ITestOutputHelper output) : IClassFixture<RateLimitedCliFixture>
{
    private const string Waiting = "runbox: the server is busy (HTTP 429); trying again in 1 s";

    [Fact]
    public async Task Run_WaitsAndSubmitsOnce_WhenTheServerAnswers429()
    {
        var script = await WriteScriptAsync("patient.py", "print('submitted')\n");
        using var flood = new Flood(server);

        var (code, stdout, stderr) = await server.RunWatchingStderrAsync(
            line =>
            {
                if (line.StartsWith(Waiting, StringComparison.Ordinal))
                {
                    flood.Stop();
                }
            },
            "run", script);
        output.WriteLine(stderr);

        Assert.Equal(0, code);
        Assert.Equal("submitted\n", stdout);
        // The submit waited at least once; the live stream may have had to wait as well (one request a second).
        Assert.NotEmpty(stderr);
        Assert.All(stderr.TrimEnd('\n').Split('\n'), line => Assert.Equal(Waiting, line));
        Assert.Single(await JobsOfAsync("patient.py"));
    }

    [Fact]
    public async Task JobsLogs_PrintsAJobOfThousandsOfLines_InOneRequest()
    {
        // One request a second: each page past the first waited a second out loud, and a job of 50 MB asked 500 times.
        var script = await WriteScriptAsync("lines.py", "for i in range(2500):\n    print(i)\n");
        var run = await server.RunAsync(null, "run", script, "--json");
        Assert.Equal(0, run.ExitCode);
        var id = JsonDocument.Parse(run.Stdout).RootElement.GetProperty("id").GetString()!;
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // the key's bucket has its token again

        var (code, stdout, stderr) = await server.RunAsync(null, "jobs", "logs", id);

        Assert.Equal(0, code);
        Assert.Equal(string.Concat(Enumerable.Range(0, 2500).Select(i => $"{i}\n")), stdout);
        Assert.Equal("", stderr);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("jobs list")]
    public async Task ClientCommand_ExitsWith1InOneLine_WhenTheServerStaysBusy(string command)
    {
        // A stand-in that refuses every request as the rate limit does: with the real server, a flood kept the key's
        // bucket empty only nearly always (the CLI's try, made as the bucket refilled, won a token about once in 20 runs).
        var requests = 0;
        var script = await WriteScriptAsync("refused.py", "print('never')\n");
        List<string> args = [.. command.Split(' ')];
        if (command == "run")
        {
            args.Add(script);
        }

        var (code, stdout, stderr) = await StandInServer.RunCliAsync(api => api.Run(async context =>
        {
            Interlocked.Increment(ref requests);
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = "1";
            context.Response.ContentType = "application/problem+json";
            await context.Response.WriteAsync(
                """{"title":"Too many requests","status":429,"detail":"This key sent more requests than its rate limit allows; retry after a second."}""");
        }), null, [.. args]);
        output.WriteLine(stderr);

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Equal([Waiting, Waiting, Waiting], lines[..^1]);
        Assert.StartsWith("runbox: the server is still busy after 4 tries (HTTP 429): This key sent more requests than its rate limit allows", lines[^1]);
        Assert.Equal(4, requests);
    }

    [Fact]
    public async Task JobsGet_WaitsUntilTheDateInRetryAfter_When503SaysSo()
    {
        var answers = 0;
        var (code, stdout, stderr) = await StandInServer.RunCliAsync(api => api.MapGet("/api/v1/jobs/{id}", (HttpContext context) =>
        {
            if (Interlocked.Increment(ref answers) == 1)
            {
                // A date a second or two ahead (HTTP dates have whole seconds), as a proxy in front of a restarting server says.
                context.Response.Headers.RetryAfter = DateTimeOffset.UtcNow.AddSeconds(2).ToString("r");
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }
            return Results.Text("""{"id":"J","owner":"k","status":"queued","language":"python","runtime":"default","limits":{}}""", "application/json");
        }), null, "jobs", "get", "J");
        output.WriteLine(stderr);

        Assert.Equal(0, code);
        Assert.Contains("\"status\": \"queued\"", stdout);
        Assert.Equal(2, answers);
        Assert.Matches(@"^runbox: the server is busy \(HTTP 503\); trying again in \d(\.\d)? s\n$", stderr);
    }

    private async Task<string> WriteScriptAsync(string name, string text)
    {
        var path = Path.Combine(server.DataDirectory, name);
        await File.WriteAllTextAsync(path, text);
        return path;
    }

    /// <summary>The jobs whose script is that file's (by its entrypoint), asked once the key's bucket has a token again.</summary>
    private async Task<List<JsonElement>> JobsOfAsync(string entrypoint)
    {
        using var client = server.AdminClient();
        while (true)
        {
            using var response = await client.GetAsync("/api/v1/jobs?limit=200");
            if (response.StatusCode != HttpStatusCode.TooManyRequests)
            {
                var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                return [.. page.GetProperty("jobs").EnumerateArray().Where(j => j.GetProperty("entrypoint").GetString() == entrypoint).Select(j => j.Clone())];
            }
            await Task.Delay(200);
        }
    }

    /// <summary>Requests with the admin key, back to back from a few loops, until stopped: the key's bucket stays empty.</summary>
    private sealed class Flood : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly HttpClient _client;
        private readonly Task[] _loops;

        public Flood(CliFixture server)
        {
            _client = server.AdminClient();
            _loops = [.. Enumerable.Range(0, 4).Select(_ => Task.Run(LoopAsync))];
        }

        public void Stop() => _stop.Cancel();

        public void Dispose()
        {
            Stop();
            try
            {
                Task.WaitAll(_loops);
            }
            catch (AggregateException e) when (e.InnerExceptions.All(inner => inner is OperationCanceledException))
            {
            }
            _client.Dispose();
            _stop.Dispose();
        }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                using var response = await _client.GetAsync("/api/v1/runtimes", _stop.Token);
            }
        }
    }
}
