namespace Runbox.Server.Runtimes;

/// <summary>
/// A runtime request that cannot be done, with the HTTP status it maps to (400 bad input, 404 no such runtime,
/// 409 the runtime's state forbids it) and the field at fault for 400s.
/// </summary>
public sealed class RuntimeRequestException(int status, string detail, string? field = null) : Exception(detail)
{
    public int Status { get; } = status;

    public string? Field { get; } = field;

    public static RuntimeRequestException Invalid(string field, string rule) => new(StatusCodes.Status400BadRequest, rule, field);

    public static RuntimeRequestException NotFound(string name) => new(StatusCodes.Status404NotFound, $"There is no runtime '{name}'.");

    public static RuntimeRequestException Conflict(string detail) => new(StatusCodes.Status409Conflict, detail);
}
