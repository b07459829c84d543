namespace Runbox.Server.Http;

/// <summary>
/// A query value given twice (<c>?status=queued&amp;status=running</c>) is refused with a 400 naming it. Binding would
/// join the values with a comma, and the error would then be about a value nobody sent ("must be one of ..."); a filter
/// that took one of them would show another list than the one asked for. The same rule as for a body's repeated field.
/// </summary>
internal static class RepeatedQueryValues
{
    public static IApplicationBuilder UseRepeatedQueryValuesRefused(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        foreach (var (name, values) in http.Request.Query)
        {
            if (values.Count > 1)
            {
                await Problems.BadRequest(name, "is given more than once.").ExecuteAsync(http);
                return;
            }
        }
        await next(http);
    });
}
