using System.Data.Common;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Runbox.Server.Http;

/// <summary>
/// A request that failed because the store could not be reached (a PostgreSQL restart or failover, its connections all
/// taken) answers 503 with <c>Retry-After</c>, which clients wait out (the CLI does), instead of a 500 that reads as a
/// bug. The driver says which failures may pass (<see cref="DbException.IsTransient"/>).
/// </summary>
internal sealed class StoreUnavailable(IProblemDetailsService problems, ILogger<StoreUnavailable> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 2;

    public const string Detail = "The job store cannot be reached right now (a database restart or failover); try again in a few seconds.";

    public static bool Is(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is DbException { IsTransient: true })
            {
                return true;
            }
        }
        return false;
    }

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (!Is(exception))
        {
            return false;
        }
        ServerLog.StoreUnavailable(logger, http.Request.Method, http.Request.Path, exception.Message);
        http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var problem = new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = "Service Unavailable", Detail = Detail };
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, Exception = exception, ProblemDetails = problem });
    }
}
