using Microsoft.AspNetCore.Http.HttpResults;

namespace Runbox.Server.Http;

/// <summary>RFC 9457 problem details that name the field and the rule, as every error of the API does.</summary>
public static class Problems
{
    public static ProblemHttpResult BadRequest(string field, string rule) => TypedResults.Problem(
        statusCode: StatusCodes.Status400BadRequest,
        title: "Invalid request",
        detail: $"{field}: {rule}",
        extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [rule] } });

    /// <summary>415 for a body sent in a form the server does not read (compressed, or not UTF-8), naming the header.</summary>
    public static ProblemHttpResult UnsupportedMediaType(string header, string rule) => TypedResults.Problem(
        statusCode: StatusCodes.Status415UnsupportedMediaType,
        title: "Unsupported Media Type",
        detail: $"{header}: {rule}",
        extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [header] = [rule] } });

    public static ValidationProblem Validation(Dictionary<string, string[]> errors) => TypedResults.ValidationProblem(
        errors,
        title: "Invalid request",
        detail: string.Join(" ", errors.Select(pair => $"{pair.Key}: {string.Join(" ", pair.Value)}")));

    public static ProblemHttpResult NotFound(string what, string id) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "Not found",
        detail: $"There is no {what} '{id}' visible to this key.");

    public static ProblemHttpResult Conflict(string detail) => TypedResults.Problem(
        statusCode: StatusCodes.Status409Conflict,
        title: "Conflict",
        detail: detail);

    public static ProblemHttpResult Forbidden(string detail) => TypedResults.Problem(
        statusCode: StatusCodes.Status403Forbidden,
        title: "Forbidden",
        detail: detail);

    public static ProblemHttpResult TooManyStreams(int max) => TypedResults.Problem(
        statusCode: StatusCodes.Status429TooManyRequests,
        title: "Too many live streams",
        detail: $"This key may hold at most {max} live streams open at once; close one, or try again when one has ended.");
}
