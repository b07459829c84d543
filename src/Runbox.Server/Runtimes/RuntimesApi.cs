using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Runbox.Server.Auth;
using Runbox.Server.Http;

namespace Runbox.Server.Runtimes;

/// <summary><c>/api/v1/runtimes</c>: list, create, read, install packages, smoke-test, delete. Admin keys only.</summary>
public static class RuntimesApi
{
    public static IEndpointRouteBuilder MapRuntimesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/runtimes").WithTags("Runtimes").RequireAuthorization(KeysApi.AdminPolicy);
        group.MapGet("/", ListAsync).WithName("ListRuntimes").WithSummary("Every runtime with its state, packages and preloads.");
        group.MapPost("/", CreateAsync)
            .WithName("CreateRuntime")
            .WithSummary("Create a runtime: a venv from the asked Python version, packages, preloads. Answers 202 with state installing.")
            .Accepts<RuntimeCreateRequest>("application/json")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/{name}", GetAsync).WithName("GetRuntime").WithSummary("One runtime; poll it to follow an installation.");
        group.MapDelete("/{name}", DeleteAsync)
            .WithName("DeleteRuntime")
            .WithSummary("Remove a runtime and its venv; refused while jobs run on it unless ?force=true (which cancels them).")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/{name}/packages", InstallAsync)
            .WithName("InstallRuntimePackages")
            .WithSummary("Install packages (and add or remove preloads); the runtime is installing, then its zygote restarts. Answers 202.")
            .Accepts<RuntimeInstallRequest>("application/json")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/{name}/test", TestAsync).WithName("TestRuntime").WithSummary("Run the smoke test job now and answer with the runtime after it.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    public static ProblemHttpResult Problem(RuntimeRequestException e) => e.Status switch
    {
        StatusCodes.Status400BadRequest => Problems.BadRequest(e.Field ?? "runtime", e.Message),
        StatusCodes.Status404NotFound => TypedResults.Problem(statusCode: 404, title: "Not found", detail: e.Message),
        _ => Problems.Conflict(e.Message),
    };

    private static async Task<Ok<RuntimeListResponse>> ListAsync(RuntimeManager runtimes, CancellationToken ct) =>
        TypedResults.Ok(new RuntimeListResponse((await runtimes.ListAsync(ct)).Select(RuntimeResponse.From).ToList()));

    private static async Task<Results<Accepted<RuntimeResponse>, ProblemHttpResult>> CreateAsync(HttpContext http, RuntimeManager runtimes)
    {
        var read = await RequestBody.ReadJsonAsync(http, RunboxJsonContext.Default.RuntimeCreateRequest);
        if (read.Problem is { } problem)
        {
            return problem;
        }
        var body = read.Value!;
        try
        {
            var runtime = await runtimes.CreateAsync(body.Name, body.PythonVersion, body.Packages, body.Preload, body.SystemSitePackages ?? false, http.RequestAborted);
            return TypedResults.Accepted($"/api/v1/runtimes/{runtime.Name}", RuntimeResponse.From(runtime));
        }
        catch (RuntimeRequestException e)
        {
            return Problem(e);
        }
    }

    private static async Task<Results<Ok<RuntimeResponse>, ProblemHttpResult>> GetAsync(string name, RuntimeManager runtimes, CancellationToken ct)
    {
        try
        {
            return TypedResults.Ok(RuntimeResponse.From(await runtimes.GetAsync(name, ct)));
        }
        catch (RuntimeRequestException e)
        {
            return Problem(e);
        }
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string name, RuntimeManager runtimes, [FromQuery] bool? force, CancellationToken ct)
    {
        try
        {
            await runtimes.DeleteAsync(name, force ?? false, ct);
            return TypedResults.NoContent();
        }
        catch (RuntimeRequestException e)
        {
            return Problem(e);
        }
    }

    private static async Task<Results<Accepted<RuntimeResponse>, ProblemHttpResult>> InstallAsync(string name, HttpContext http, RuntimeManager runtimes)
    {
        var read = await RequestBody.ReadJsonAsync(http, RunboxJsonContext.Default.RuntimeInstallRequest);
        if (read.Problem is { } problem)
        {
            return problem;
        }
        try
        {
            var runtime = await runtimes.InstallAsync(name, read.Value!.Packages, read.Value.Preload, read.Value.RemovePreload, http.RequestAborted);
            return TypedResults.Accepted($"/api/v1/runtimes/{runtime.Name}", RuntimeResponse.From(runtime));
        }
        catch (RuntimeRequestException e)
        {
            return Problem(e);
        }
    }

    private static async Task<Results<Ok<RuntimeResponse>, ProblemHttpResult>> TestAsync(string name, RuntimeManager runtimes, CancellationToken ct)
    {
        try
        {
            return TypedResults.Ok(RuntimeResponse.From(await runtimes.TestAsync(name, ct)));
        }
        catch (RuntimeRequestException e)
        {
            return Problem(e);
        }
    }
}
