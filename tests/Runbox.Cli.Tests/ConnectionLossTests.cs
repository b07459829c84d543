using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace Runbox.Cli.Tests;

/// <summary>Client commands when the server is not there, or goes away while a job's output streams: one line, exit 1.</summary>
public sealed class ConnectionLossTests(ITestOutputHelper output)
{
    private const string JobId = "0123456789abcdef0123456789abcdef";

    [Theory]
    [InlineData("jobs logs " + JobId + " -f")]
    [InlineData("jobs list")]
    [InlineData("run -")]
    public async Task ClientCommand_ExitsWith1InOneLine_WhenTheServerIsDown(string line)
    {
        var server = $"http://127.0.0.1:{ClosedPort()}";

        var (code, stdout, stderr) = await RunboxProcess.RunAsync("print(1)\n", [.. line.Split(' '), "--server", server, "--key", "k"], TimeSpan.FromSeconds(60));
        output.WriteLine(stderr);

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"runbox: cannot reach {server}/: Connection refused", stderr);
        Assert.EndsWith("; is a Runbox server running there? (another address: --server or $RUNBOX_SERVER)\n", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Run_SaysHowToFollowTheJobAgain_WhenTheServerGoesAwayMidStream()
    {
        var served = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var app = await StandInServer.StartAsync(api =>
        {
            api.MapPost("/api/v1/jobs", () => Results.Text(
                """{"id":"JOB","owner":"k","status":"queued","language":"python","runtime":"default","limits":{}}""".Replace("JOB", JobId), "application/json"));
            api.MapGet("/api/v1/jobs/{id}/events", async (HttpContext context) =>
            {
                context.Response.ContentType = "text/event-stream";
                if (!context.Request.Headers.ContainsKey("Last-Event-ID"))
                {
                    await context.Response.WriteAsync(
                        """id: 1\nevent: log\ndata: {"seq":1,"timestamp":"2026-01-01T00:00:00Z","stream":"stdout","text":"first line"}\n\n""".Replace("\\n", "\n"));
                    await context.Response.Body.FlushAsync();
                    served.TrySetResult();
                    // Open until the server stops, as a job's stream stays open while it runs.
                    await release.Task;
                }
            });
        });
        var url = StandInServer.Address(app);

        var run = RunboxProcess.RunAsync("print(1)\n", ["run", "-", "--server", url, "--key", "k"], TimeSpan.FromSeconds(60));
        await served.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var stopping = app.StopAsync();
        release.SetResult();
        await stopping;
        await app.DisposeAsync();
        var (code, stdout, stderr) = await run;
        output.WriteLine(stderr);

        Assert.Equal(1, code);
        Assert.Equal("first line\n", stdout);
        Assert.StartsWith($"runbox: lost the connection while following job {JobId} (cannot reach {url}/", stderr);
        Assert.EndsWith($"follow it again with 'runbox jobs logs {JobId} -f'\n", stderr);
        Assert.DoesNotContain("is a Runbox server running there?", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task ClientCommand_ExitsWith1InOneLine_WhenAnotherProgramAnswers()
    {
        var app = await StandInServer.StartAsync(api => api.MapGet("/api/v1/jobs", () => Results.Text("<html>hello</html>", "text/html")));
        var url = StandInServer.Address(app);

        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null, ["jobs", "list", "--server", url, "--key", "k"], TimeSpan.FromSeconds(60));
        await app.StopAsync();
        await app.DisposeAsync();

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"runbox: {url}/ did not answer GET /api/v1/jobs?limit=20 as a Runbox server does", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task JobsGet_ExitsWith1InOneLine_WhenAnotherProgramAnswers()
    {
        var app = await StandInServer.StartAsync(api => api.MapGet("/api/v1/jobs/{id}", () => Results.Text("<html>hello</html>", "text/html")));
        var url = StandInServer.Address(app);

        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null, ["jobs", "get", JobId, "--server", url, "--key", "k"], TimeSpan.FromSeconds(60));
        await app.StopAsync();
        await app.DisposeAsync();

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"runbox: {url}/ did not answer GET /api/v1/jobs/{JobId} as a Runbox server does", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task JobsGet_ExitsWith1SayingTheConnectionWasLost_WhenTheAnswerStopsMidway()
    {
        // The job is printed as it arrives, so what came before the break is out already; the line says it is not all.
        var app = await StandInServer.StartAsync(api => api.MapGet("/api/v1/jobs/{id}", async (HttpContext context) =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$"""{"id":"{{JobId}}","stdout":"{{new string('x', 200_000)}}""");
            await context.Response.Body.FlushAsync();
            context.Abort();
        }));
        var url = StandInServer.Address(app);

        var (code, stdout, stderr) = await RunboxProcess.RunAsync(null, ["jobs", "get", JobId, "--server", url, "--key", "k"], TimeSpan.FromSeconds(60));
        await app.StopAsync();
        await app.DisposeAsync();
        output.WriteLine(stderr);

        Assert.Equal(1, code);
        Assert.StartsWith($"{{\n  \"id\": \"{JobId}\",", stdout);
        Assert.StartsWith($"runbox: lost the connection to {url}/: ", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
