using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Rpc;

/// <summary>What <c>runbox serve</c> says as it starts listening on its HTTP address and its socket.</summary>
public sealed class ServeListenTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Serve_NamesItsAddressAndSocket_AndWarnsOfNothing_WhenStartedAsDocumented()
    {
        using var data = new TempFolder();
        var port = ServeProcess.FreePort();
        await using var serve = await ServeProcess.StartAsync(data.Path, port, output);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!serve.Output.Any(line => line.Contains("Application started")))
        {
            Assert.True(DateTime.UtcNow < deadline, "serve did not say it had started within 30 s");
            await Task.Delay(100);
        }

        var lines = serve.Output;
        Assert.Contains(lines, line => line.Contains($"Now listening on: http://127.0.0.1:{port}"));
        Assert.Contains(lines, line => line.Contains($"Now listening on: http://unix:{Path.Combine(data.Path, "runbox.sock")}"));
        // A warning at every start (Kestrel's "Overriding address(es)", once) teaches operators to ignore warnings.
        Assert.DoesNotContain(lines, line => line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal));
    }
}
