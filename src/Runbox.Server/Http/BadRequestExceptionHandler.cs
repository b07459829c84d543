using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Runbox.Server.Http;

/// <summary>
/// Turns request faults that escape a handler (an oversized body, bad route values, malformed JSON) into the
/// problem details of their status code instead of a 500. A query or route value the framework could not convert
/// (<c>?limit=abc</c>; thrown since <c>ThrowOnBadRequest</c> is on) names its field and rule, as every other error does.
/// </summary>
internal sealed partial class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    // The framework's words for a value it could not convert: Failed to bind parameter "int? limit" from "abc".
    [GeneratedRegex("""^Failed to bind parameter "(?<type>[^ "]+) (?<name>[^"]+)" from "(?<value>.*)"\.$""")]
    private static partial Regex BindFailure();

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
        var problem = exception is BadHttpRequestException && BindFailure().Match(detail) is { Success: true } bind
            // Query names are the parameters' names in snake_case (afterSeq is after_seq).
            ? Problems.BadRequest(JsonNamingPolicy.SnakeCaseLower.ConvertName(bind.Groups["name"].Value),
                Rule(bind.Groups["type"].Value, bind.Groups["value"].Value)).ProblemDetails
            : new ProblemDetails { Status = status, Title = "Invalid request", Detail = detail };
        http.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, Exception = exception, ProblemDetails = problem });
    }

    /// <summary>The rule a value of <paramref name="type"/> breaks ("Nullable&lt;int&gt;", "int?" or "Int32" alike).</summary>
    private static string Rule(string type, string value) => type.Replace("Nullable<", "").TrimEnd('>', '?') switch
    {
        "int" or "long" or "Int32" or "Int64" => $"must be a whole number (got '{value}').",
        "bool" or "Boolean" => $"must be true or false (got '{value}').",
        _ => $"cannot be read from '{value}'.",
    };
}
