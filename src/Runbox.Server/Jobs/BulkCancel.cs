using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Runbox.Execution.Jobs;
using Runbox.Server.Auth;
using Runbox.Server.Http;
using Runbox.Storage.Jobs;

namespace Runbox.Server.Jobs;

/// <summary><c>{"ids": [...]}</c> cancels those jobs; <c>{"all": true}</c> every queued and running job the key can see.</summary>
public sealed record BulkCancelRequest
{
    public List<string>? Ids { get; init; }

    public bool? All { get; init; }
}

/// <summary>The ids whose cancel was recorded; ended, missing and others' jobs are left out.</summary>
public sealed record BulkCancelResponse(List<string> Cancelled);

/// <summary><c>POST /api/v1/jobs/cancel</c>: the UI's "cancel selected" and the admin's "cancel all running".</summary>
public static class BulkCancel
{
    public const int MaxIds = 500;

    public static async Task<Results<Ok<BulkCancelResponse>, ProblemHttpResult>> CancelAsync(HttpContext http, ClaimsPrincipal user, JobService jobs)
    {
        var read = await RequestBody.ReadJsonAsync(http, RunboxJsonContext.Default.BulkCancelRequest);
        if (read.Problem is { } problem)
        {
            return problem;
        }
        var request = read.Value!;
        var all = request.All == true;
        if (all == request.Ids is { Count: > 0 })
        {
            return Problems.BadRequest("ids", "give either a non-empty ids list or all: true.");
        }
        if (request.Ids is { Count: > MaxIds })
        {
            return Problems.BadRequest("ids", $"at most {MaxIds} ids at once.");
        }
        if (request.Ids?.IndexOf(null!) is >= 0 and var at)
        {
            return Problems.BadRequest($"ids[{at}]", "must be a job id (a string).");
        }
        var caller = Caller.From(user);
        var ct = http.RequestAborted;
        var ids = all ? await ActiveJobIdsAsync(jobs, caller, ct) : request.Ids!.Distinct(StringComparer.Ordinal).ToList();
        var cancelled = new List<string>();
        foreach (var id in ids)
        {
            var job = await jobs.FindAsync(id, caller, ct, withOutput: false, withSubmission: false);
            if (job is not null && !job.Status.IsTerminal() && await jobs.RequestCancelAsync(id, ct) is not null)
            {
                cancelled.Add(id);
            }
        }
        return TypedResults.Ok(new BulkCancelResponse(cancelled));
    }

    private static async Task<List<string>> ActiveJobIdsAsync(JobService jobs, Caller caller, CancellationToken ct)
    {
        var ids = new List<string>();
        foreach (var status in new[] { JobStatus.Running, JobStatus.Queued })
        {
            string? cursor = null;
            do
            {
                var page = await jobs.Store.ListJobsAsync(new JobQuery
                {
                    Owner = caller.IsAdmin ? null : caller.KeyId,
                    Status = status,
                    Limit = 200,
                    Cursor = cursor,
                }, ct);
                ids.AddRange(page.Jobs.Select(j => j.Id));
                cursor = page.NextCursor;
            }
            while (cursor is not null);
        }
        return ids;
    }
}
