using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Runbox.Execution.Tests.Invocations;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (port chosen by the OS) playing a remote service: plain endpoints for the
/// http runner and an asynchronous run API for http_async, whose runs are scripted by the kick-off query string.
/// </summary>
public sealed class RunServer : IAsyncLifetime
{
    private readonly ConcurrentDictionary<string, ScriptedRun> _runs = new();
    private WebApplication? _app;
    private int _nextRun;

    /// <summary>Not valid UTF-8 and without a final newline, to show the stdout file holds the body exactly.</summary>
    public static byte[] BinaryBody { get; } = [0xff, 0x00, 0x41, 0x0a, 0xc3];

    public string BaseUrl { get; private set; } = "";

    public string Url(string path) => $"{BaseUrl}{path}";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();

        _app.MapGet("/text", () => Results.Text("hello\nworld\n"));
        _app.MapGet("/bytes", () => Results.Bytes(BinaryBody, "application/octet-stream"));
        _app.Map("/status/{code:int}", (int code) => Results.Text($"status {code}", statusCode: code));
        _app.Map("/echo", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            return Results.Text(
                $"method={context.Request.Method}\nx-test={context.Request.Headers["X-Test"]}\n"
                + $"content-type={context.Request.ContentType}\nbody={body}\n");
        });
        _app.MapGet("/slow", async (CancellationToken aborted) =>
        {
            await Task.Delay(Timeout.Infinite, aborted);
            return Results.Ok();
        });

        // ?outcome=succeeded|failed|never&pending=N (404s before the run is visible)&running=N (polls saying running)
        _app.MapPost("/runs", (string? outcome, int? pending, int? running) =>
        {
            var id = $"run-{Interlocked.Increment(ref _nextRun)}";
            _runs[id] = new ScriptedRun(outcome ?? "succeeded", pending ?? 0, running ?? 0);
            return Results.Json(new { data = new { run_id = id } }, statusCode: StatusCodes.Status202Accepted);
        });
        _app.MapPost("/runs-without-id", () => Results.Json(new { accepted = true }, statusCode: StatusCodes.Status202Accepted));
        _app.MapGet("/runs/{id}", (string id) =>
        {
            if (!_runs.TryGetValue(id, out var run))
            {
                return Results.NotFound();
            }
            lock (run)
            {
                if (run.Pending > 0)
                {
                    run.Pending--;
                    return Results.NotFound();
                }
                if (run.Running > 0 || run.Outcome == "never")
                {
                    run.Running--;
                    return Results.Json(new { run = new { state = "running" } });
                }
                return Results.Json(new { run = new { state = run.Outcome, output = $"output of {id}" } });
            }
        });

        await _app.StartAsync();
        BaseUrl = _app.Urls.Single().TrimEnd('/');
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private sealed class ScriptedRun(string outcome, int pending, int running)
    {
        public string Outcome { get; } = outcome;

        public int Pending { get; set; } = pending;

        public int Running { get; set; } = running;
    }
}
