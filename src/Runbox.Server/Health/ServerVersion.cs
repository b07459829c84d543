using System.Reflection;

namespace Runbox.Server.Health;

/// <summary>
/// The Runbox build this server is (its informational version: 1.0.0+COMMIT), in a header on every response and in
/// /readyz: a client built later can tell that the server refusing what it sent may be too old to know it.
/// </summary>
public static class ServerVersion
{
    public const string Header = "Runbox-Version";

    public static string Current { get; } =
        typeof(ServerVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>Adds the header as the response starts, so that it survives the exception handler clearing the headers.</summary>
    public static IApplicationBuilder UseServerVersionHeader(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        http.Response.OnStarting(static state =>
        {
            ((HttpResponse)state).Headers[Header] = Current;
            return Task.CompletedTask;
        }, http.Response);
        return next(http);
    });
}
