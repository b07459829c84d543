using Microsoft.AspNetCore.Diagnostics;
using Runbox.Server.Http;

namespace Runbox.Server.Runtimes;

/// <summary>
/// Turns a <see cref="RuntimeRequestException"/> that escapes a handler (a job submitted to an installing or unknown
/// runtime, from any API) into the problem details of its status.
/// </summary>
internal sealed class RuntimeProblemHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not RuntimeRequestException problem)
        {
            return false;
        }
        http.Response.StatusCode = problem.Status;
        await RuntimesApi.Problem(problem).ExecuteAsync(http);
        return true;
    }
}
