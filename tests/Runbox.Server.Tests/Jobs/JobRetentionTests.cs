using System.Globalization;
using System.Net;
using Runbox.Server.Jobs;
using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Jobs;

/// <summary>Runbox:RetentionDays on a real server: ended jobs go with their logs and artifacts, running ones stay.</summary>
public sealed class JobRetentionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task EndedJob_IsDeletedWithItsArtifacts_OnceTheRetentionHasPassed()
    {
        var retention = TimeSpan.FromSeconds(3);
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?>
        {
            ["Runbox:RetentionDays"] = retention.TotalDays.ToString("R", CultureInfo.InvariantCulture),
        });
        var running = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "import time\nprint('start', flush=True)\ntime.sleep(60)" });
        var ended = await server.Admin.SubmitOkAsync(new JobSubmission { Script = "open('result.txt', 'w').write('42')\nprint('done')" }, wait: true);
        Assert.Equal("succeeded", ended.Status);
        Assert.Equal(HttpStatusCode.OK, (await server.Admin.GetAsync($"/api/v1/jobs/{ended.Id}/artifacts/result.txt")).StatusCode);
        var artifactFolder = Path.Combine(server.DataDirectory, "artifacts", ended.Id);
        Assert.True(Directory.Exists(artifactFolder));

        var deadline = DateTime.UtcNow + retention + TimeSpan.FromSeconds(15);
        while ((await server.Admin.GetAsync($"/api/v1/jobs/{ended.Id}")).StatusCode != HttpStatusCode.NotFound)
        {
            Assert.True(DateTime.UtcNow < deadline, $"job {ended.Id} still there 15 s past its retention of {retention.TotalSeconds} s");
            await Task.Delay(200);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.GetAsync($"/api/v1/jobs/{ended.Id}/logs")).StatusCode);
        Assert.False(Directory.Exists(artifactFolder));
        Assert.Equal("running", (await server.Admin.GetJobAsync(running.Id)).Status);
        await server.Admin.PostAsync($"/api/v1/jobs/{running.Id}/cancel", null);
    }
}
