using System.Net;
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
}
