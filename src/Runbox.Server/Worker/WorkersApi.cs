using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Runbox.Server.Auth;
using Runbox.Server.Configuration;
using Runbox.Storage;

namespace Runbox.Server.Worker;

/// <summary><c>/api/v1/workers</c>: admins see the worker nodes, what they can run and whether they are alive.</summary>
public static class WorkersApi
{
    public static IEndpointRouteBuilder MapWorkersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/workers").WithTags("Workers").RequireAuthorization(KeysApi.AdminPolicy);
        group.MapGet("/", ListAsync)
            .WithName("ListWorkers")
            .WithSummary("List worker nodes: slots, busy slots, runtimes ready, last heartbeat, alive or stale.");
        return app;
    }

    private static async Task<Ok<WorkerListResponse>> ListAsync(
        IJobStore store, IOptions<RunboxOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        // Heartbeats come every third of a lease: a whole lease without one means the node is gone or cut off.
        var staleAfter = TimeSpan.FromSeconds(options.Value.LeaseSeconds);
        var now = time.GetUtcNow();
        var workers = await store.ListWorkersAsync(cancellationToken);
        return TypedResults.Ok(new WorkerListResponse(workers
            .Select(w => new WorkerResponse(
                w.Name,
                now - w.LastSeenAt > staleAfter ? "stale" : "alive",
                w.Slots,
                w.Busy,
                w.Runtimes.ToList(),
                w.StartedAt,
                w.LastSeenAt))
            .ToList()));
    }
}
