using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Rpc;

/// <summary>What <c>runbox serve</c> says as it starts listening on its HTTP address and its socket.</summary>
public sealed class ServeListenTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Serve_NamesItsAddressAndSocket_AndLogsNoWarningNorRefusedRequest_WhenStartedAsDocumented()
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

        using (var anonymous = new HttpClient { BaseAddress = serve.Address })
        {
            // Requests without a valid key are refused, not logged one by one.
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/jobs")).StatusCode);
            anonymous.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "rbx_wrong");
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/jobs")).StatusCode);
        }
        // The console logger writes from a queue of its own: time for a line about that request to come out.
        await Task.Delay(TimeSpan.FromSeconds(1));

        var lines = serve.Output;
        Assert.Contains(lines, line => line.Contains($"Now listening on: http://127.0.0.1:{port}"));
        Assert.Contains(lines, line => line.Contains($"Now listening on: http://unix:{Path.Combine(data.Path, "runbox.sock")}"));
        // A warning at every start (Kestrel's "Overriding address(es)", once) teaches operators to ignore warnings.
        // Kestrel's slow heartbeat (event 22) says the machine was too busy to run its timer for a second: a test
        // run's load on 2 cores, not something every start says.
        var warnings = lines
            .Where(line => line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal))
            .Where(line => !line.Contains("Microsoft.AspNetCore.Server.Kestrel[22]", StringComparison.Ordinal))
            .ToList();
        Assert.True(warnings.Count == 0, "serve logged: " + string.Join("\n", warnings));
        Assert.DoesNotContain(lines, line => line.Contains("ApiKeyAuthenticationHandler", StringComparison.Ordinal));
    }
}
