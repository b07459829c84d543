using System.Net;
using System.Text;
using Runbox.Server.Health;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Health;

/// <summary>The server says which Runbox build it is, so that a newer client can tell why it refuses what it sent.</summary>
public sealed class ServerVersionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Server_SaysItsBuildInAHeaderOnEveryAnswer_AndInReadyz()
    {
        await using var server = await RunningServer.StartAsync(output);
        using var anonymous = server.Client(null);

        using var ready = await anonymous.GetAsync("/readyz");
        using var refused = await anonymous.GetAsync("/api/v1/jobs");
        // Malformed JSON is answered by the exception handler, which clears the headers set before it.
        using var malformed = await server.Admin.PostAsync("/api/v1/jobs", new StringContent("{\"script\":", Encoding.UTF8, "application/json"));

        Assert.Matches(@"^\d+\.\d+\.\d+", ServerVersion.Current);
        Assert.Equal(ServerVersion.Current, (await ready.JsonAsync()).GetProperty("version").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        foreach (var response in new[] { ready, refused, malformed })
        {
            Assert.Equal([ServerVersion.Current], response.Headers.GetValues(ServerVersion.Header));
        }
    }
}
