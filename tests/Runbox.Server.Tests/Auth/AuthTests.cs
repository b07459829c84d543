using System.Net;
using System.Net.Http.Json;
using Runbox.Server.Auth;
using Runbox.Server.Http;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Auth;

public sealed class AuthTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:NoWorker"] = "true" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(null)]
    [InlineData("rbx_not-a-real-key")]
    public async Task Request_Returns401WithProblem_WhenKeyMissingOrWrong(string? key)
    {
        using var client = _server.Client(key);

        var response = await client.GetAsync("/api/v1/jobs");
        var compat = await client.PostAsJsonAsync("/execute", new { script = "print(1)" });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Unauthorized, compat.StatusCode);
    }

    [Fact]
    public async Task Health_AnswersWithoutKey_WhenAsked()
    {
        using var anonymous = _server.Client(null);

        var response = await anonymous.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", (await response.JsonAsync()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task NonAdminKey_SeesOnlyItsOwnJobs_WhenAnotherKeyHasJobs()
    {
        var (alice, aliceId) = await _server.UserAsync("alice");
        var (bob, _) = await _server.UserAsync("bob");
        var alices = await alice.SubmitOkAsync(new JobSubmission { Script = "print('alice')" });
        var bobs = await bob.SubmitOkAsync(new JobSubmission { Script = "print('bob')" });

        var aliceList = await (await alice.GetAsync("/api/v1/jobs")).ReadAsync<JobListResponse>();
        var adminList = await (await _server.Admin.GetAsync("/api/v1/jobs")).ReadAsync<JobListResponse>();

        Assert.Equal([alices.Id], aliceList.Jobs.Select(j => j.Id));
        Assert.Equal(aliceId, alices.Owner);
        Assert.Contains(adminList.Jobs, j => j.Id == bobs.Id);
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, ""), (HttpMethod.Get, "/logs"), (HttpMethod.Get, "/events"), (HttpMethod.Get, "/artifacts"),
            (HttpMethod.Get, "/artifacts/x.txt"), (HttpMethod.Get, "/stdout"), (HttpMethod.Get, "/stderr"),
            (HttpMethod.Post, "/cancel"), (HttpMethod.Delete, ""),
        })
        {
            var response = await alice.SendAsync(new HttpRequestMessage(method, $"/api/v1/jobs/{bobs.Id}{path}"));
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path}: {(int)response.StatusCode}");
        }
        // The other surfaces reach the same job by the same id: the WebSocket, the compatibility tasks, JSON-RPC sessions.
        foreach (var path in new[]
        {
            $"/status/{bobs.Id}", $"/api/v1/tasks/{bobs.Id}", $"/api/v1/tasks/{bobs.Id}/logs", $"/api/v1/tasks/{bobs.Id}/metrics",
            $"/api/v1/tasks/{bobs.Id}/stream", $"/sse/session/{bobs.Id}",
        })
        {
            var response = await alice.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
        }
        using (var socket = new System.Net.WebSockets.ClientWebSocket())
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + alice.DefaultRequestHeaders.Authorization!.Parameter);
            socket.Options.CollectHttpResponseDetails = true;
            var ws = new Uri(new Uri(_server.Address, $"/api/v1/jobs/{bobs.Id}/ws").ToString().Replace("http://", "ws://", StringComparison.Ordinal));
            await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => socket.ConnectAsync(ws, CancellationToken.None));
            Assert.Equal(HttpStatusCode.NotFound, socket.HttpStatusCode);
        }
        foreach (var method in new[] { "session_get", "session_logs", "session_result", "session_stop", "session_delete" })
        {
            var answer = await alice.PostAsync("/rpc", new StringContent(
                $$$"""{"jsonrpc":"2.0","id":1,"method":"{{{method}}}","params":{"session_id":"{{{bobs.Id}}}"}}""", System.Text.Encoding.UTF8, "application/json"));
            var body = await answer.JsonAsync();
            Assert.True(body.TryGetProperty("error", out var error), $"{method}: {body}");
            Assert.DoesNotContain("bob", body.ToString());
        }
        var tasks = await (await alice.GetAsync("/api/v1/tasks")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(bobs.Id, tasks);
        var sessions = await (await alice.PostAsync("/rpc", new StringContent(
            """{"jsonrpc":"2.0","id":1,"method":"session_list"}""", System.Text.Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync();
        Assert.Contains(alices.Id, sessions);
        Assert.DoesNotContain(bobs.Id, sessions);
        // Admin data: the workers and the runtimes (their packages, their errors) and the keys.
        foreach (var path in new[] { "/api/v1/workers", "/api/v1/runtimes", "/api/v1/runtimes/default", "/api/v1/keys" })
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await alice.GetAsync(path)).StatusCode);
        }
        Assert.Equal("queued", (await _server.Admin.GetJobAsync(bobs.Id)).Status);
    }

    [Fact]
    public async Task Keys_AreCreatedListedAndRevoked_ByAnAdmin()
    {
        var (user, userId) = await _server.UserAsync("ci");

        var list = await (await _server.Admin.GetAsync("/api/v1/keys")).ReadAsync<KeyListResponse>();
        var beforeRevoke = await user.GetAsync("/api/v1/jobs");
        var revoke = await _server.Admin.DeleteAsync($"/api/v1/keys/{userId}");
        var afterRevoke = await user.GetAsync("/api/v1/jobs");
        var revokeMissing = await _server.Admin.DeleteAsync("/api/v1/keys/key_nope");

        Assert.Contains(list.Keys, k => k.Id == userId && k.Name == "ci" && !k.Admin);
        Assert.Contains(list.Keys, k => k.Admin);
        var wire = await (await _server.Admin.GetAsync("/api/v1/keys")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("rbx_", wire);
        // One word for it, as in a create request and /me.
        Assert.Contains("\"admin\":true", wire);
        Assert.DoesNotContain("is_admin", wire);
        Assert.Equal(HttpStatusCode.OK, beforeRevoke.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, afterRevoke.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, revokeMissing.StatusCode);
    }

    [Fact]
    public async Task Keys_MayShareAName_AndRevokingByNameNamesTheirIds_RevokingNeither()
    {
        // Rotating a key: the new one is made under the old one's name before clients move over to it.
        var (old, oldId) = await _server.UserAsync("rotated");
        var (successor, successorId) = await _server.UserAsync("rotated");

        var byName = await _server.Admin.DeleteAsync("/api/v1/keys/rotated");

        Assert.Equal(HttpStatusCode.NotFound, byName.StatusCode);
        var detail = (await byName.JsonAsync()).GetProperty("detail").GetString()!;
        Assert.Contains("revoked by its id, not its name", detail);
        Assert.Contains(oldId, detail);
        Assert.Contains(successorId, detail);
        Assert.Equal(HttpStatusCode.OK, (await old.GetAsync("/api/v1/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await successor.GetAsync("/api/v1/jobs")).StatusCode);
    }

    [Fact]
    public async Task Keys_Returns403_WhenCallerIsNotAdmin()
    {
        var (user, _) = await _server.UserAsync("plain");

        var create = await user.PostAsJsonAsync("/api/v1/keys", new KeyCreateRequest { Name = "x" }, RunboxJson.Options);
        var list = await user.GetAsync("/api/v1/keys");

        Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
    }

    [Fact]
    public async Task AdminKeyFile_IsOwnerOnlyAndMatchesAHashedKey_AfterFirstStart()
    {
        var path = Path.Combine(_server.DataDirectory, "admin.key");

        var mode = File.GetUnixFileMode(path);
        var database = await File.ReadAllBytesAsync(Path.Combine(_server.DataDirectory, "runbox.db"));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
        Assert.StartsWith("rbx_", _server.AdminKey);
        Assert.Equal(-1, System.Text.Encoding.ASCII.GetString(database).IndexOf(_server.AdminKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RateLimit_Returns429ForOneKey_WithoutAffectingAnother()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?>
        {
            ["Runbox:NoWorker"] = "true",
            ["Runbox:RateLimit:Burst"] = "5",
            ["Runbox:RateLimit:RequestsPerSecond"] = "1",
        });
        var (other, _) = await server.UserAsync("other");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            statuses.Add((await server.Admin.GetAsync("/api/v1/jobs")).StatusCode);
        }
        var limited = await server.Admin.GetAsync("/api/v1/jobs");
        var otherResponse = await other.GetAsync("/api/v1/jobs");

        Assert.Contains((HttpStatusCode)429, statuses);
        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.True(limited.Headers.Contains("Retry-After"));
        Assert.Equal(HttpStatusCode.OK, otherResponse.StatusCode);
    }
}
