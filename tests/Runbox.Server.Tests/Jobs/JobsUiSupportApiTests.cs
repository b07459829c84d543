using System.Net;
using System.Net.Http.Json;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Jobs;

/// <summary>What the web UI needs of the API: list filters by runtime and text, bulk cancel, who am I, re-run data.</summary>
public sealed class JobsUiSupportApiTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ListJobs_FiltersByTextAndRuntime_WhenAsked()
    {
        await using var server = await RunningServer.StartAsync(output);
        var needle = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('needle-one')" });
        await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print('hay')" });

        var byText = await (await server.Admin.GetAsync("/api/v1/jobs?q=needle-one")).JsonAsync();
        var byId = await (await server.Admin.GetAsync($"/api/v1/jobs?q={needle.Id[..20]}")).JsonAsync();
        var byRuntime = await (await server.Admin.GetAsync("/api/v1/jobs?runtime=default")).JsonAsync();
        var otherRuntime = await (await server.Admin.GetAsync("/api/v1/jobs?runtime=other")).JsonAsync();

        Assert.Equal([needle.Id], byText.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetString()));
        Assert.Equal([needle.Id], byId.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetString()));
        Assert.Equal(2, byRuntime.GetProperty("jobs").GetArrayLength());
        Assert.Equal(0, otherRuntime.GetProperty("jobs").GetArrayLength());
    }

    [Fact]
    public async Task GetJob_LeavesOutTheOutput_WhenAskedWithOutputFalse()
    {
        // The job page shows the output from the logs' tail: the job's answer carried all of it (up to 64 MiB a stream).
        await using var server = await RunningServer.StartAsync(output);
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "import sys\nprint('out')\nprint('err', file=sys.stderr)" }, wait: true);

        var without = await (await server.Admin.GetAsync($"/api/v1/jobs/{job.Id}?output=false")).JsonAsync();
        var with = await (await server.Admin.GetAsync($"/api/v1/jobs/{job.Id}")).JsonAsync();
        var bad = await server.Admin.GetAsync($"/api/v1/jobs/{job.Id}?output=maybe");

        Assert.Equal(System.Text.Json.JsonValueKind.Null, without.GetProperty("stdout").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, without.GetProperty("stderr").ValueKind);
        Assert.Equal("succeeded", without.GetProperty("status").GetString());
        Assert.Equal("import sys\nprint('out')\nprint('err', file=sys.stderr)", without.GetProperty("script").GetString());
        Assert.Equal("out\n", with.GetProperty("stdout").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True((await bad.JsonAsync()).GetProperty("errors").TryGetProperty("output", out _));
    }

    [Fact]
    public async Task CancelJobs_CancelsOnlyTheCallersActiveJobs_WhenAllIsAskedByANonAdmin()
    {
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:Workers"] = "1" });
        var (alice, _) = await server.UserAsync("alice");
        var (bob, _) = await server.UserAsync("bob");
        var aliceJob = await alice.SubmitOkAsync(new JobSubmission { Script = "import time\ntime.sleep(120)" });
        var bobJob = await bob.SubmitOkAsync(new JobSubmission { Script = "import time\ntime.sleep(120)" });

        var answer = await (await alice.PostAsJsonAsync("/api/v1/jobs/cancel", new { all = true })).JsonAsync();

        Assert.Equal([aliceJob.Id], answer.GetProperty("cancelled").EnumerateArray().Select(j => j.GetString()));
        Assert.Equal("cancelled", (await alice.WaitEndedAsync(aliceJob.Id)).Status);
        Assert.Contains((await bob.GetJobAsync(bobJob.Id)).Status, new[] { "queued", "running" });
        var byIds = await (await server.Admin.PostAsJsonAsync("/api/v1/jobs/cancel", new { ids = new[] { bobJob.Id, aliceJob.Id, "missing" } })).JsonAsync();
        Assert.Equal([bobJob.Id], byIds.GetProperty("cancelled").EnumerateArray().Select(j => j.GetString()));
    }

    [Fact]
    public async Task CancelJobs_Answers400_WhenNeitherIdsNorAllAreGiven()
    {
        await using var server = await RunningServer.StartAsync(output);

        var response = await server.Admin.PostAsJsonAsync("/api/v1/jobs/cancel", new { ids = Array.Empty<string>() });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("ids", (await response.JsonAsync()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Me_TellsTheKeyAndWhetherItIsAdmin_WhenCalled()
    {
        await using var server = await RunningServer.StartAsync(output);
        var (user, keyId) = await server.UserAsync("me");

        var admin = await (await server.Admin.GetAsync("/api/v1/me")).JsonAsync();
        var mine = await (await user.GetAsync("/api/v1/me")).JsonAsync();

        Assert.True(admin.GetProperty("admin").GetBoolean());
        Assert.Equal(keyId, mine.GetProperty("key_id").GetString());
        Assert.False(mine.GetProperty("admin").GetBoolean());
    }

    [Fact]
    public async Task GetJob_IncludesScriptArgsAndStdin_SoTheJobCanBeRunAgain()
    {
        await using var server = await RunningServer.StartAsync(output);
        var job = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "print(1)", Args = ["a", "b c"], Stdin = "in" });

        var single = await (await server.Admin.GetAsync($"/api/v1/jobs/{job.Id}")).JsonAsync();
        var listed = (await (await server.Admin.GetAsync("/api/v1/jobs")).JsonAsync()).GetProperty("jobs")[0];

        Assert.Equal("print(1)", single.GetProperty("script").GetString());
        Assert.Equal(["a", "b c"], single.GetProperty("args").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("in", single.GetProperty("stdin").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, listed.GetProperty("script").ValueKind);
    }
}
