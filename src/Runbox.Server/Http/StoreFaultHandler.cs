using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Runbox.Server.Http;

/// <summary>
/// Answers a <see cref="StoreFault"/> that escapes a REST handler with its problem details (and <c>Retry-After</c> where
/// it passes) instead of a 500; JSON-RPC answers the same faults in its own shape (<see cref="Rpc.RpcDispatcher"/>).
/// </summary>
internal sealed class StoreFaultHandler(IProblemDetailsService problems, ILogger<StoreFaultHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (StoreFault.Classify(exception) is not { } fault)
        {
            return false;
        }
        fault.Log(logger, http.Request.Method, http.Request.Path, exception);
        http.Response.StatusCode = fault.Status;
        if (fault.RetryAfterSeconds is { } seconds)
        {
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }
        var problem = new ProblemDetails { Status = fault.Status, Title = fault.Title, Detail = fault.Detail };
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, Exception = exception, ProblemDetails = problem });
    }
}
