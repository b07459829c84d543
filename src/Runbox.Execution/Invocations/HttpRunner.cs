using System.Globalization;

namespace Runbox.Execution.Invocations;

/// <summary>
/// Sends one HTTP request described by the invocation's metadata (<c>http.url</c>, <c>http.method</c> (GET),
/// <c>http.body</c>, <c>http.header.NAME</c>). A 2xx answer is <see cref="RuntimeStatus.Succeeded"/> with exit code 0;
/// any other is <see cref="RuntimeStatus.Failed"/> with the status code as exit code. The response body is the stdout.
/// It runs in the host process, not in the sandbox.
/// </summary>
public sealed class HttpRunner(HttpClient? client = null) : IRuntimeRunner
{
    private readonly HttpClient _client = client ?? HttpRunnerClient.Shared;

    /// <inheritdoc/>
    public bool RequiresCommand => false;

    /// <inheritdoc/>
    public async Task<RuntimeResult> RunAsync(RuntimeInvocation invocation, RunnerContext context, CancellationToken cancellationToken)
    {
        var (spec, error) = await HttpRequestSpec.ReadAsync(invocation, "GET", cancellationToken);
        if (spec is null)
        {
            return RuntimeResult.Rejected(error!);
        }

        using var request = spec.Build();
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var status = (int)response.StatusCode;
        context.Metadata["http.status"] = status.ToString(CultureInfo.InvariantCulture);
        await context.WriteStdoutAsync(body, cancellationToken);
        return response.IsSuccessStatusCode
            ? RuntimeResult.FromExitCode(0)
            : RuntimeResult.Failed(status, $"{spec.Method} {spec.Url} answered {status} {response.ReasonPhrase}.");
    }
}

/// <summary>The client the HTTP runners share when the host gives none.</summary>
internal static class HttpRunnerClient
{
    // One pooled handler for the process; connections are recycled so DNS changes are seen.
    // The invocation's deadline bounds each request, so the client's own timeout is off.
    public static readonly HttpClient Shared = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
    {
        Timeout = System.Threading.Timeout.InfiniteTimeSpan,
    };
}
