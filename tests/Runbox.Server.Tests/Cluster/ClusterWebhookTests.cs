using System.Text.Json;
using Runbox.Server.Tests.Infrastructure;
using Runbox.Server.Tests.Webhooks;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Cluster;

/// <summary>Callbacks with several nodes on one PostgreSQL store: each job's is sent once, not once per node.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterWebhookTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task EveryJobsCallback_IsSentOnce_ByOneNode_EvenWhenRescuersRaceForALostWorkersJob()
    {
        using var receiver = new WebhookReceiver(failFirst: 0);
        await using var cluster = new ClusterNodes(postgres, output);
        await cluster.CreateDatabaseAsync();
        string[] webhooks = ["--Runbox:Webhooks:AllowPrivateAddresses=true", "--Runbox:Webhooks:Secret=cluster-webhook-secret-0123456789"];
        var api = await cluster.StartApiAsync(webhooks);
        var nodeA = await cluster.StartWorkerAsync("node-a", 2, webhooks);
        var nodeB = await cluster.StartWorkerAsync("node-b", 2, webhooks);
        using var client = cluster.Client(api);

        var lost = await client.SubmitOkAsync(ClusterApi.Python("import time\ntime.sleep(300)", maxAttempts: 1) with { CallbackUrl = receiver.Url });
        var ids = new List<string> { lost.Id };
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await client.SubmitOkAsync(ClusterApi.Python($"print({i})") with { CallbackUrl = receiver.Url })).Id);
        }
        await ClusterApi.UntilAsync(async () => (await client.GetJobAsync(lost.Id)).Status == "running", 60, "the long job runs");
        // The quick ones' callbacks first: one pending on the node killed below would die with it (they live in memory).
        await ClusterApi.UntilAsync(() => Task.FromResult(ids.Skip(1).All(id => Received(receiver).Contains(id))), 60, "the quick jobs' callbacks arrive");
        // Its node dies: the API node's and the other worker's rescuers both look for the expired lease.
        var runsIt = (await client.GetJobAsync(lost.Id)).Worker!;
        await (runsIt.StartsWith("node-a/", StringComparison.Ordinal) ? nodeA : nodeB).KillHardAsync();
        Assert.Equal("worker lost", (await client.WaitEndedAsync(lost.Id, 60)).Error);
        await ClusterApi.UntilAsync(() => Task.FromResult(ids.All(id => Received(receiver).Contains(id))), 60, "every callback arrives");
        await Task.Delay(TimeSpan.FromSeconds(3)); // room for a second copy, were one on its way

        var received = Received(receiver);
        Assert.Equal(ids.Order(), received.Order());
    }

    private static List<string> Received(WebhookReceiver receiver) =>
        receiver.Received.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("id").GetString()!).ToList();
}
