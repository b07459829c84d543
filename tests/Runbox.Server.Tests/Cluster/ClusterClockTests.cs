using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Cluster;

/// <summary>
/// Nodes whose clocks disagree: one node's clock is set a minute ahead with libfaketime (LD_PRELOAD), as a host whose
/// time sync failed. Leases and heartbeats must not depend on the nodes' clocks agreeing.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterClockTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private const string FakeTimeLibrary = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

    [SkippableFact]
    public async Task ApiNodesClockAMinuteAhead_DoesNotEndTheWorkersRunningJob_AndShowsTheWorkerAlive()
    {
        RequireFakeTime();
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        // Wall clock only: timers and stopwatches (the monotonic clock) run as usual.
        var api = await cluster.StartApiAsync(new Dictionary<string, string>
        {
            ["LD_PRELOAD"] = FakeTimeLibrary,
            ["FAKETIME"] = "+60s",
            ["FAKETIME_DONT_FAKE_MONOTONIC"] = "1",
        });
        await cluster.StartWorkerAsync("node-a", 1);
        using var client = cluster.Client(api);

        // Two leases long: the API node's rescuer (every quarter lease) sees its lease as a minute gone from the start.
        var job = await client.SubmitOkAsync(ClusterApi.Python(
            $"import time\nprint('start', flush=True)\ntime.sleep({2 * ClusterNodes.ShortLease})\nprint('end')"));
        var ended = await client.WaitEndedAsync(job.Id, 120);

        Assert.Equal("succeeded", ended.Status);
        Assert.Null(ended.Error);
        Assert.Equal("start\nend\n", ended.Stdout);
        Assert.Equal(1, ended.Attempt);
        var worker = Assert.Single((await client.WorkersAsync()).Workers);
        Assert.Equal("alive", worker.Status);
    }

    private static void RequireFakeTime()
    {
        if (File.Exists(FakeTimeLibrary))
        {
            return;
        }
        const string why = $"libfaketime not found at {FakeTimeLibrary} (apt-get install libfaketime)";
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            throw new Xunit.Sdk.XunitException($"CI=true and {why}");
        }
        Skip.If(true, why);
    }
}
