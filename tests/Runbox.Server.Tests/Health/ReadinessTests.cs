using System.Net;
using System.Text.Json;
using Runbox.Server.Configuration;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Health;

public sealed class ReadinessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Readyz_ReportsStoreRuntimeSandboxAndSlots_WhenEverythingWorks()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:Workers"] = "3" });
        using var anonymous = server.Client(null);

        var response = await anonymous.GetAsync("/readyz");
        var body = await response.JsonAsync();
        output.WriteLine(body.ToString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.True(body.GetProperty("store").GetBoolean());
        Assert.True(body.GetProperty("default_runtime").GetProperty("operational").GetBoolean());
        Assert.True(body.GetProperty("sandbox").TryGetProperty("network_namespace", out _));
        Assert.True(body.GetProperty("sandbox").TryGetProperty("fully_isolated", out _));
        Assert.True(body.GetProperty("sandbox").TryGetProperty("disk_limit", out _));
        Assert.True(body.GetProperty("sandbox").TryGetProperty("syscall_filter", out _));
        Assert.Equal(3, body.GetProperty("slots").GetProperty("total").GetInt32());
        Assert.Equal(3, body.GetProperty("slots").GetProperty("free").GetInt32());
    }

    [Fact]
    public async Task Readyz_OfAnApiOnlyNode_DescribesNoSandbox_AndTheNodeBuildsNoEngine()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:NoWorker"] = "true" });
        using var anonymous = server.Client(null);

        var response = await anonymous.GetAsync("/readyz");
        var body = await response.JsonAsync();
        output.WriteLine(body.ToString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("sandbox").ValueKind);
        Assert.Equal(0, body.GetProperty("slots").GetProperty("total").GetInt32());
        Assert.Equal(0, body.GetProperty("slots").GetProperty("engine_free").GetInt32());
        // No engine: no work root made for it, and no line from it (its sandbox warnings are about jobs it never runs).
        Assert.False(Directory.Exists(DataFolder.WorkRootFor(server.DataDirectory)));
        Assert.DoesNotContain(server.Logs.Categories, c => c.StartsWith("Runbox.Execution", StringComparison.Ordinal));
    }
}
