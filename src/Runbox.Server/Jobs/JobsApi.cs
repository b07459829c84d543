using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Runbox.Execution.Jobs;
using Runbox.Server.Auth;
using Runbox.Server.Http;
using Runbox.Storage.Artifacts;
using Runbox.Storage.Jobs;

namespace Runbox.Server.Jobs;

/// <summary><c>/api/v1/jobs</c>: submit, read, list, page logs, cancel, delete, artifacts and raw output.</summary>
public static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/jobs").WithTags("Jobs").RequireAuthorization();

        group.MapPost("/", SubmitAsync)
            .WithName("SubmitJob")
            .WithSummary("Queue a job; with ?wait=true answer when it ends (bounded by the server's MaxWaitSeconds).")
            .Accepts<JobSubmission>("application/json");
        group.MapGet("/", ListAsync).WithName("ListJobs").WithSummary("List jobs, newest first, a page at a time.");
        group.MapPost("/cancel", BulkCancel.CancelAsync)
            .WithName("CancelJobs")
            .WithSummary("Cancel many jobs at once: the listed ids, or every queued and running job the key can see.")
            .Accepts<BulkCancelRequest>("application/json");
        group.MapGet("/{id}", GetAsync).WithName("GetJob").WithSummary("A job with its whole result once it ended.");
        group.MapGet("/{id}/logs", LogsAsync).WithName("GetJobLogs").WithSummary("A page of log lines after a sequence number, or the last lines (?tail=N).");
        group.MapPost("/{id}/cancel", CancelAsync).WithName("CancelJob").WithSummary("Cancel a queued or running job.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapDelete("/{id}", DeleteAsync).WithName("DeleteJob").WithSummary("Cancel the job if it runs and remove it with its logs and artifacts.");
        group.MapGet("/{id}/artifacts", ArtifactsAsync).WithName("ListJobArtifacts").WithSummary("The files the job left behind.");
        group.MapGet("/{id}/artifacts/{**name}", ArtifactAsync).WithName("GetJobArtifact").WithSummary("One artifact's bytes.")
            .Produces(StatusCodes.Status200OK, typeof(Stream), "application/octet-stream");
        group.MapGet("/{id}/stdout", (string id, ClaimsPrincipal user, JobService jobs, CancellationToken ct) => OutputAsync(id, LogStream.Stdout, user, jobs, ct))
            .WithName("GetJobStdout").WithSummary("The job's standard output, exact bytes (live text while it runs).")
            .Produces(StatusCodes.Status200OK, typeof(Stream), "application/octet-stream", "text/plain");
        group.MapGet("/{id}/stderr", (string id, ClaimsPrincipal user, JobService jobs, CancellationToken ct) => OutputAsync(id, LogStream.Stderr, user, jobs, ct))
            .WithName("GetJobStderr").WithSummary("The job's standard error, exact bytes (live text while it runs).")
            .Produces(StatusCodes.Status200OK, typeof(Stream), "application/octet-stream", "text/plain");
        return app;
    }

    private static async Task<Results<Accepted<JobResponse>, Ok<JobResponse>, ValidationProblem, ProblemHttpResult>> SubmitAsync(
        HttpContext http, ClaimsPrincipal user, JobService jobs, [FromQuery] bool? wait)
    {
        var read = await RequestBody.ReadJsonAsync(http, RunboxJsonContext.Default.JobSubmission);
        if (read.Problem is { } problem)
        {
            return problem;
        }
        var spec = JobSubmissionValidator.Validate(read.Value!, jobs.Options, out var errors);
        if (spec is null)
        {
            return Problems.Validation(errors);
        }
        var job = await jobs.SubmitAsync(spec, Caller.From(user), http.RequestAborted);
        var location = $"/api/v1/jobs/{job.Id}";
        if (wait == true)
        {
            var latest = await jobs.WaitForEndAsync(job.Id, TimeSpan.FromSeconds(jobs.Options.MaxWaitSeconds), http.RequestAborted);
            if (latest is null)
            {
                // Deleted meanwhile: an ended answer saying so, where the job as submitted ("queued", 202) would send the
                // client to a Location that answers 404.
                return TypedResults.Ok(job.ToDeletedResponse(JobMapping.DeletedWhileWaitedReason));
            }
            if (latest.Status.IsTerminal())
            {
                var artifacts = await jobs.Store.ListArtifactsAsync(job.Id, http.RequestAborted);
                http.Response.Headers.Location = location;
                return TypedResults.Ok(latest.ToResponse(artifacts));
            }
            return TypedResults.Accepted(location, latest.ToResponse());
        }
        return TypedResults.Accepted(location, job.ToResponse());
    }

    private static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetAsync(
        string id, ClaimsPrincipal user, JobService jobs, CancellationToken ct, [FromQuery] bool? output)
    {
        // output=false: stdout and stderr null, for a client that shows the output from the logs (the web UI's job page).
        var job = await jobs.FindAsync(id, Caller.From(user), ct, withOutput: output ?? true);
        if (job is null)
        {
            return Problems.NotFound("job", id);
        }
        var artifacts = job.Status.IsTerminal() ? await jobs.Store.ListArtifactsAsync(id, ct) : null;
        return TypedResults.Ok(job.ToResponse(artifacts, withSubmission: true));
    }

    private static async Task<Results<Ok<JobListResponse>, ProblemHttpResult>> ListAsync(
        ClaimsPrincipal user, JobService jobs, CancellationToken ct,
        [FromQuery] string? status, [FromQuery, Range(1, 200)] int? limit, [FromQuery, MaxLength(512)] string? cursor, [FromQuery] string? owner,
        [FromQuery, MaxLength(100)] string? runtime, [FromQuery(Name = "q"), MaxLength(200)] string? text)
    {
        var caller = Caller.From(user);
        JobStatus? statusFilter = null;
        if (status is not null)
        {
            if (!JobStatusExtensions.TryParseWire(status, out var parsed))
            {
                return Problems.BadRequest("status", "must be one of queued, running, succeeded, failed, timed_out, cancelled, error.");
            }
            statusFilter = parsed;
        }
        if (limit is < 1 or > 200)
        {
            return Problems.BadRequest("limit", "must be between 1 and 200.");
        }
        if (cursor is not null && (cursor.Length > 512 || !JobCursor.TryDecode(cursor, out _)))
        {
            return Problems.BadRequest("cursor", "is not a cursor this server gave out.");
        }
        if (runtime is { Length: > 100 } || text is { Length: > 200 })
        {
            return Problems.BadRequest(runtime is { Length: > 100 } ? "runtime" : "q", "is too long.");
        }
        if (owner is not null && owner.Any(char.IsControl))
        {
            return Problems.BadRequest("owner", "must be a key id (key_...).");
        }
        if (owner is not null && !caller.IsAdmin && owner != caller.KeyId)
        {
            return Problems.BadRequest("owner", "only an admin key may list another key's jobs.");
        }
        var page = await jobs.Store.ListJobsAsync(new JobQuery
        {
            Owner = caller.IsAdmin ? owner : caller.KeyId,
            Status = statusFilter,
            Runtime = string.IsNullOrEmpty(runtime) ? null : runtime,
            Text = string.IsNullOrEmpty(text) ? null : text,
            Limit = limit ?? 50,
            Cursor = cursor,
        }, ct);
        return TypedResults.Ok(new JobListResponse(page.Jobs.Select(j => j.ToResponse()).ToList(), page.NextCursor));
    }

    /// <summary>The most lines a page of logs may ask for (its Range states it in the OpenAPI document; the check enforces it).</summary>
    private const int MaxLogPage = 5000;

    private static async Task<Results<Ok<LogPageResponse>, ProblemHttpResult>> LogsAsync(
        string id, ClaimsPrincipal user, JobService jobs, CancellationToken ct,
        [FromQuery(Name = "after_seq")] long? afterSeq, [FromQuery, Range(1, MaxLogPage)] int? limit, [FromQuery, Range(1, LogTail.MaxLines)] int? tail)
    {
        if (afterSeq is < 0)
        {
            return Problems.BadRequest("after_seq", "must be 0 or more.");
        }
        if (limit is < 1 or > MaxLogPage)
        {
            return Problems.BadRequest("limit", $"must be between 1 and {MaxLogPage}.");
        }
        if (tail is < 1 or > LogTail.MaxLines)
        {
            return Problems.BadRequest("tail", $"must be between 1 and {LogTail.MaxLines}.");
        }
        if (tail is not null && (afterSeq is not null || limit is not null))
        {
            // A tail ends at the last line and is sized by itself: after_seq or limit beside it would be ignored or contradict it.
            return Problems.BadRequest("tail", $"cannot be combined with {(afterSeq is not null ? "after_seq" : "limit")}: ask for the tail, then page on with after_seq=next_seq.");
        }
        var job = await jobs.FindAsync(id, Caller.From(user), ct, withOutput: false, withSubmission: false);
        if (job is null)
        {
            return Problems.NotFound("job", id);
        }
        if (tail is { } count)
        {
            // The status is read before the lines: an ended job's lines are all stored by then, so this is the last page.
            var (last, moreBefore, nextSeq) = await LogTail.ReadAsync(jobs.Store, id, count, ct);
            return TypedResults.Ok(new LogPageResponse(id, job.Status.ToWire(), last.Select(l => l.ToResponse()).ToList(),
                nextSeq, job.Status.IsTerminal(), moreBefore));
        }
        var take = limit ?? 1000;
        var after = afterSeq ?? 0;
        var lines = await jobs.Store.ReadLogsAsync(id, after, take, ct);
        var next = lines.Count > 0 ? lines[^1].Seq : after;
        // Ended and a short page: nothing more will ever come (the worker stores every line before the outcome).
        var done = job.Status.IsTerminal() && lines.Count < take;
        return TypedResults.Ok(new LogPageResponse(id, job.Status.ToWire(), lines.Select(l => l.ToResponse()).ToList(), next, done));
    }

    private static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> CancelAsync(string id, ClaimsPrincipal user, JobService jobs, CancellationToken ct)
    {
        var job = await jobs.FindAsync(id, Caller.From(user), ct, withOutput: false, withSubmission: false);
        if (job is null)
        {
            return Problems.NotFound("job", id);
        }
        if (job.Status.IsTerminal())
        {
            return Problems.Conflict($"The job already ended ({job.Status.ToWire()}).");
        }
        var changed = await jobs.RequestCancelAsync(id, ct);
        return changed is null ? Problems.NotFound("job", id) : TypedResults.Ok(changed.ToResponse());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, ClaimsPrincipal user, JobService jobs, CancellationToken ct)
    {
        var job = await jobs.FindAsync(id, Caller.From(user), ct, withOutput: false, withSubmission: false);
        if (job is null)
        {
            return Problems.NotFound("job", id);
        }
        if (!job.Status.IsTerminal())
        {
            // The worker sees the flag (or the missing row) and kills the run; its completion is then fenced out.
            await jobs.Store.RequestCancelAsync(id, ct);
        }
        return await jobs.Store.DeleteJobAsync(id, ct) ? TypedResults.NoContent() : Problems.NotFound("job", id);
    }

    private static async Task<Results<Ok<ArtifactListResponse>, ProblemHttpResult>> ArtifactsAsync(string id, ClaimsPrincipal user, JobService jobs, CancellationToken ct)
    {
        var job = await jobs.FindAsync(id, Caller.From(user), ct, withOutput: false, withSubmission: false);
        if (job is null)
        {
            return Problems.NotFound("job", id);
        }
        var artifacts = await jobs.Store.ListArtifactsAsync(id, ct);
        return TypedResults.Ok(new ArtifactListResponse(id, artifacts.Select(a => a.ToResponse()).ToList()));
    }

    private static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> ArtifactAsync(
        string id, string name, ClaimsPrincipal user, JobService jobs, CancellationToken ct)
    {
        // By the rule artifacts are stored under, not the stricter one for submitted files: a job's file named with a tab,
        // or a path over 255 characters, was listed but its download answered 400. Both refuse '..', '/x' and '\\'.
        if (!ArtifactName.IsValid(name, out var reason))
        {
            return Problems.BadRequest("name", $"not an artifact's name: {reason}.");
        }
        var job = await jobs.FindAsync(id, Caller.From(user), ct, withOutput: false, withSubmission: false);
        if (job is null)
        {
            return Problems.NotFound("job", id);
        }
        var stream = await jobs.Store.OpenArtifactAsync(id, name, ct);
        if (stream is null)
        {
            return Problems.NotFound("artifact", name);
        }
        return TypedResults.Stream(stream, "application/octet-stream", fileDownloadName: Path.GetFileName(name));
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> OutputAsync(
        string id, LogStream stream, ClaimsPrincipal user, JobService jobs, CancellationToken ct)
    {
        var job = await jobs.FindAsync(id, Caller.From(user), ct, withSubmission: false);
        if (job is null)
        {
            return Problems.NotFound("job", id);
        }
        if (job.Outcome is { } outcome)
        {
            return TypedResults.Bytes(stream == LogStream.Stdout ? outcome.Stdout : outcome.Stderr, "application/octet-stream");
        }
        // Still running: what has been logged so far, as text (the exact bytes come with the result).
        var text = new StringBuilder();
        long after = 0;
        while (true)
        {
            var lines = await jobs.Store.ReadLogsAsync(id, after, 1000, ct);
            text.Append(JobMapping.TextOf(lines, stream));
            if (lines.Count < 1000)
            {
                break;
            }
            after = lines[^1].Seq;
        }
        return TypedResults.Bytes(Encoding.UTF8.GetBytes(text.ToString()), "text/plain; charset=utf-8");
    }
}
