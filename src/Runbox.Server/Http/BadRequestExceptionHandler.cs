using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Runbox.Server.Http;

/// <summary>
/// Turns request faults that escape a handler (an oversized body, bad route values, malformed JSON) into the
/// problem details of their status code instead of a 500.
/// </summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        var (status, detail) = exception switch
        {
            BadHttpRequestException e => (e.StatusCode, e.Message),
            JsonException e => (StatusCodes.Status400BadRequest, "invalid JSON: " + e.Message),
            _ => (0, ""),
        };
        if (status == 0)
        {
            return false;
        }
        http.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = "Invalid request", Detail = detail },
        });
    }
}
