using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Runbox.Execution.Jobs;
using Runbox.Server.Auth;
using Runbox.Server.Http;
using Runbox.Server.Jobs;
using Runbox.Server.Streaming;

namespace Runbox.Server.Compat;

/// <summary>
/// Thin adapters that give the earlier systems' clients their own API over Runbox jobs:
/// <c>POST /execute</c> + <c>GET /status/{task_id}</c>, and the <c>/api/v1/tasks</c> family.
/// </summary>
public static class CompatApi
{
    public static IEndpointRouteBuilder MapCompatApi(this IEndpointRouteBuilder app)
    {
        var root = app.MapGroup("").WithTags("Compatibility").RequireAuthorization();
        root.MapPost("/execute", ExecuteAsync).WithName("CompatExecute").WithSummary("Queue a Python script; answers {task_id}.")
            .Accepts<ExecuteRequest>("application/json");
        root.MapGet("/status/{task_id}", StatusAsync).WithName("CompatStatus").WithSummary("{task_id, state: Pending|Running|Success|Error, result}.");

        var tasks = app.MapGroup("/api/v1/tasks").WithTags("Compatibility").RequireAuthorization();
        tasks.MapPost("/", CreateTaskAsync).WithName("CompatCreateTask").WithSummary("Queue {code, language, cpu_limit, memory_limit, timeout}; answers {task_id}.")
            .Accepts<TaskCreateRequest>("application/json");
        tasks.MapGet("/", ListTasksAsync).WithName("CompatListTasks").WithSummary("The newest tasks, at most ?limit=.");
        tasks.MapGet("/{id}", GetTaskAsync).WithName("CompatGetTask").WithSummary("A task and its output.");
        tasks.MapGet("/{id}/logs", TaskLogsAsync).WithName("CompatTaskLogs").WithSummary("A task's log lines and output.");
        tasks.MapGet("/{id}/metrics", TaskMetricsAsync).WithName("CompatTaskMetrics").WithSummary("A task's CPU time and peak memory.");
        tasks.MapGet("/{id}/stream", StreamAsync)
            .WithName("CompatTaskStream").WithSummary("Server-sent events of the task's output, then its result.")
            .Produces(StatusCodes.Status200OK, typeof(string), "text/event-stream");
        return app;
    }

    private static async Task<Results<Ok<TaskIdResponse>, ValidationProblem, ProblemHttpResult>> ExecuteAsync(HttpContext http, ClaimsPrincipal user, JobService jobs)
    {
        var read = await RequestBody.ReadJsonAsync(http, RunboxJsonContext.Default.ExecuteRequest, ignoreUnknownFields: true);
        if (read.Problem is { } problem)
        {
            return problem;
        }
        if (read.Value!.Script is null)
        {
            return Problems.BadRequest("script", "is required.");
        }
        var spec = JobSubmissionValidator.Validate(new JobSubmission { Script = read.Value.Script, Language = read.Value.Language }, jobs.Options, out var errors);
        if (spec is null)
        {
            return Problems.Validation(errors);
        }
        var job = await jobs.SubmitAsync(spec, Caller.From(user), http.RequestAborted);
        return TypedResults.Ok(new TaskIdResponse(job.Id));
    }

    private static async Task<Results<Ok<StatusResponse>, ProblemHttpResult>> StatusAsync(
        [FromRoute(Name = "task_id")] string taskId, ClaimsPrincipal user, JobService jobs, CancellationToken ct)
    {
        var job = await jobs.FindAsync(taskId, Caller.From(user), ct, withSubmission: false);
        if (job is null)
        {
            return Problems.NotFound("task", taskId);
        }
        var result = job.Outcome is { } o
            ? new StatusResult(o.ExitCode, Encoding.UTF8.GetString(o.Stdout), Encoding.UTF8.GetString(o.Stderr), CompatMapping.Reason(job))
            : null;
        return TypedResults.Ok(new StatusResponse(job.Id, CompatMapping.ExecuteState(job), result));
    }

    /// <summary>
    /// The job's event stream, resumed as <c>/events</c> is (<c>Last-Event-ID</c> or <c>?after_seq=</c>), ending with the
    /// task as <c>GET /api/v1/tasks/{id}</c> answers it: a tasks client reads <c>status: success</c> there too. A task
    /// deleted meanwhile ends it the same way, as an error saying so, rather than with a stream that just stops.
    /// </summary>
    private static async Task<IResult> StreamAsync(
        string id, HttpContext http, ClaimsPrincipal user, JobService jobs, StreamLimiter limiter, [FromQuery(Name = "after_seq")] long? afterSeq)
    {
        if (JobStreamsApi.ResumePoint(http, afterSeq, out var after) is { } problem)
        {
            return problem;
        }
        return await JobStreamsApi.ServerSentEventsAsync(http, id, Caller.From(user), jobs, limiter, after, "task",
            job => JsonSerializer.Serialize(CompatMapping.ToTask(job), RunboxJsonContext.Default.TaskResponse),
            job => JsonSerializer.Serialize(CompatMapping.ToDeletedTask(job), RunboxJsonContext.Default.TaskResponse));
    }

    private static async Task<Results<Ok<TaskIdResponse>, ValidationProblem, ProblemHttpResult>> CreateTaskAsync(HttpContext http, ClaimsPrincipal user, JobService jobs)
    {
        var read = await RequestBody.ReadJsonAsync(http, RunboxJsonContext.Default.TaskCreateRequest, ignoreUnknownFields: true);
        if (read.Problem is { } problem)
        {
            return problem;
        }
        var body = read.Value!;
        if (body.Code is null)
        {
            return Problems.BadRequest("code", "is required.");
        }
        long? memoryMb = null;
        if (body.MemoryLimit is { } memory)
        {
            memoryMb = CompatMapping.ParseMemoryMb(memory);
            if (memoryMb is null)
            {
                return Problems.BadRequest("memory_limit", "must be a size like \"256m\", \"1g\", \"512k\" or a number of bytes.");
            }
        }
        double? cpuSeconds = null;
        if (body.CpuLimit is { } cpu)
        {
            var cores = CompatMapping.ParseCores(cpu);
            if (cores is null)
            {
                return Problems.BadRequest("cpu_limit", "must be a number of CPU cores above 0 and below 1024, such as 1 or \"0.5\".");
            }
            // Runbox limits CPU time, not cores: cores for the whole timeout is the most CPU time the task could use. Without
            // a timeout the task gets the engine's default one. A timeout the validator refuses (0, -1, NaN) makes no CPU
            // time: its refusal is the timeout's alone, not also cpu_limit's, which was right.
            var wall = body.Timeout ?? DefaultTimeoutSeconds;
            cpuSeconds = wall > 0 ? Math.Min(cores.Value * wall, jobs.Options.Maximums.CpuSeconds) : null;
        }
        var submission = new JobSubmission
        {
            Script = body.Code,
            Language = body.Language,
            Limits = new JobLimitsBody { TimeoutSeconds = body.Timeout, MemoryMb = memoryMb, CpuSeconds = cpuSeconds },
        };
        var spec = JobSubmissionValidator.Validate(submission, jobs.Options, out var errors);
        if (spec is null)
        {
            return Problems.Validation(errors.ToDictionary(pair => pair.Key switch
            {
                "script" => "code",
                "limits.timeout_seconds" => "timeout",
                "limits.memory_mb" => "memory_limit",
                "limits.cpu_seconds" => "cpu_limit",
                var other => other,
            }, pair => pair.Value));
        }
        var job = await jobs.SubmitAsync(spec, Caller.From(user), http.RequestAborted);
        return TypedResults.Ok(new TaskIdResponse(job.Id));
    }

    /// <summary>The wall-time limit of a job that names none: the engine's default.</summary>
    private static readonly double DefaultTimeoutSeconds = new Runbox.Execution.Engine.EngineOptions().DefaultLimits.Timeout?.TotalSeconds ?? 30;

    private static async Task<Results<Ok<TaskListResponse>, ProblemHttpResult>> ListTasksAsync(
        ClaimsPrincipal user, JobService jobs, CancellationToken ct, [FromQuery, Range(1, 200)] int? limit)
    {
        if (limit is < 1 or > 200)
        {
            return Problems.BadRequest("limit", "must be between 1 and 200.");
        }
        var caller = Caller.From(user);
        // Listed tasks carry their stdout and stderr, as GET /api/v1/tasks/{id} answers them (docs/api.md, the tasks adapter).
        var page = await jobs.Store.ListJobsAsync(new Storage.Jobs.JobQuery { Owner = caller.IsAdmin ? null : caller.KeyId, Limit = limit ?? 50, WithOutput = true }, ct);
        return TypedResults.Ok(new TaskListResponse(page.Jobs.Select(CompatMapping.ToTask).ToList()));
    }

    private static async Task<Results<Ok<TaskResponse>, ProblemHttpResult>> GetTaskAsync(string id, ClaimsPrincipal user, JobService jobs, CancellationToken ct)
    {
        var job = await jobs.FindAsync(id, Caller.From(user), ct, withSubmission: false);
        return job is null ? Problems.NotFound("task", id) : TypedResults.Ok(CompatMapping.ToTask(job));
    }

    /// <summary>The most log lines one <c>/logs</c> answer holds; the rest are paged from the jobs API.</summary>
    public const int MaxLogLines = 10_000;

    private static async Task<Results<Ok<TaskLogsResponse>, ProblemHttpResult>> TaskLogsAsync(string id, ClaimsPrincipal user, JobService jobs, CancellationToken ct)
    {
        var job = await jobs.FindAsync(id, Caller.From(user), ct, withSubmission: false);
        if (job is null)
        {
            return Problems.NotFound("task", id);
        }
        var lines = await jobs.Store.ReadLogsAsync(id, 0, MaxLogLines, ct);
        string Join(LogStream stream) => job.Outcome is { } o
            ? Encoding.UTF8.GetString(stream == LogStream.Stdout ? o.Stdout : o.Stderr)
            : JobMapping.TextOf(lines, stream);
        // The first lines only, so one call stays bounded; next_seq and done (as the jobs API's) say whether more follow.
        var next = lines.Count > 0 ? lines[^1].Seq : 0;
        var done = job.Status.IsTerminal() && lines.Count < MaxLogLines;
        return TypedResults.Ok(new TaskLogsResponse(id, CompatMapping.State(job), lines.Select(l => l.ToResponse()).ToList(), Join(LogStream.Stdout), Join(LogStream.Stderr), next, done));
    }

    private static async Task<Results<Ok<TaskMetricsResponse>, ProblemHttpResult>> TaskMetricsAsync(string id, ClaimsPrincipal user, JobService jobs, CancellationToken ct)
    {
        var job = await jobs.FindAsync(id, Caller.From(user), ct, withOutput: false, withSubmission: false);
        if (job is null)
        {
            return Problems.NotFound("task", id);
        }
        var o = job.Outcome;
        return TypedResults.Ok(new TaskMetricsResponse(
            id,
            CompatMapping.State(job),
            o is null ? null : (o.CpuUserMs + o.CpuSystemMs) / 1000.0,
            o?.CpuUserMs,
            o?.CpuSystemMs,
            o?.PeakMemoryBytes,
            o is null ? null : Math.Round(o.PeakMemoryBytes / (1024.0 * 1024.0), 2),
            o is null ? null : o.WallMs / 1000.0));
    }
}
