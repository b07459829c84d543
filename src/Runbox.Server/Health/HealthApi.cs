using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Runbox.Execution.Engine;
using Runbox.Server.Configuration;
using Runbox.Server.Worker;
using Runbox.Storage;

namespace Runbox.Server.Health;

/// <summary>
/// <c>/healthz</c>: the process answers. <c>/readyz</c>: the store, the default runtime, the sandbox and free slots; on an
/// API-only node (<c>--no-worker</c>), which runs no job, the store alone (no runtime, no sandbox, no slots).
/// </summary>
public static class HealthApi
{
    /// <summary>
    /// The <c>Retry-After</c> of a 503 from <c>/readyz</c>: a store restarting or a zygote starting takes seconds, and a
    /// client or balancer that honours the header would otherwise retry at once, or guess.
    /// </summary>
    public const int NotReadyRetryAfterSeconds = 5;

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new HealthResponse("ok")))
            .WithName("Health").WithSummary("Liveness: the process is up.").WithTags("Health").AllowAnonymous().DisableRateLimiting();
        app.MapGet("/readyz", ReadyAsync)
            .WithName("Ready").WithSummary("Readiness: store reachable, default runtime operational, sandbox in force, free slots.")
            .WithTags("Health").AllowAnonymous().DisableRateLimiting()
            .Produces<ReadinessResponse>(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<Results<Ok<ReadinessResponse>, JsonHttpResult<ReadinessResponse>>> ReadyAsync(
        IJobStore store, Lazy<IJobEngine> engine, JobWorker worker, DefaultRuntimeCheck runtimeCheck, IOptions<RunboxOptions> options,
        HttpResponse response, CancellationToken ct)
    {
        bool storeOk;
        try
        {
            storeOk = await store.PingAsync(ct).WaitAsync(TimeSpan.FromSeconds(5), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            storeOk = false;
        }
        // An API-only node runs no job: checking the default runtime there started a zygote (and its inits) that nothing
        // used, and a host without Python, or with a broken one, kept the node out of its load balancer for good.
        var runtime = options.Value.NoWorker ? null : await runtimeCheck.CheckAsync(ct);
        // Nor has it a sandbox: its engine is never built, and the sandbox of the host it happens to run on says nothing.
        var caps = options.Value.NoWorker ? null : engine.Value.Capabilities;
        var body = new ReadinessResponse
        {
            Status = storeOk && (runtime is null || runtime.Operational) ? "ready" : "not_ready",
            Version = ServerVersion.Current,
            Store = storeOk,
            DefaultRuntime = runtime,
            Sandbox = caps is null ? null : new SandboxReadiness(caps.NetworkNamespace, caps.MountNamespace, caps.PidNamespace, caps.Cgroups,
                caps.SeparateUids, caps.NoNewPrivileges, caps.Rlimits, caps.DiskLimit, caps.SyscallFilter, caps.FullyIsolated, caps.Warnings.ToList()),
            Slots = new SlotReadiness(worker.Slots, worker.FreeSlots, caps is null ? 0 : engine.Value.FreeSlots),
        };
        if (body.Status == "ready")
        {
            return TypedResults.Ok(body);
        }
        response.Headers.RetryAfter = NotReadyRetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
