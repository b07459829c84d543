using Runbox.Server.Http;
using Runbox.Server.Runtimes;

namespace Runbox.Cli.Client;

internal sealed partial class RunboxClient
{
    public Task<RuntimeListResponse> ListRuntimesAsync(CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "/api/v1/runtimes", null, RunboxJsonContext.Default.RuntimeListResponse, ct);

    public Task<RuntimeResponse> GetRuntimeAsync(string name, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, $"/api/v1/runtimes/{Uri.EscapeDataString(name)}", null, RunboxJsonContext.Default.RuntimeResponse, ct);

    public Task<RuntimeResponse> CreateRuntimeAsync(RuntimeCreateRequest request, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, "/api/v1/runtimes", () => Body(request, RunboxJsonContext.Default.RuntimeCreateRequest), RunboxJsonContext.Default.RuntimeResponse, ct);

    public Task<RuntimeResponse> InstallRuntimePackagesAsync(string name, RuntimeInstallRequest request, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, $"/api/v1/runtimes/{Uri.EscapeDataString(name)}/packages",
            () => Body(request, RunboxJsonContext.Default.RuntimeInstallRequest), RunboxJsonContext.Default.RuntimeResponse, ct);

    public Task<RuntimeResponse> TestRuntimeAsync(string name, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, $"/api/v1/runtimes/{Uri.EscapeDataString(name)}/test", null, RunboxJsonContext.Default.RuntimeResponse, ct);

    public Task DeleteRuntimeAsync(string name, bool force, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, $"/api/v1/runtimes/{Uri.EscapeDataString(name)}{(force ? "?force=true" : "")}", ct);
}
