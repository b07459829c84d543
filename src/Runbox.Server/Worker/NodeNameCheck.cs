using Runbox.Storage;
using Runbox.Storage.Workers;

namespace Runbox.Server.Worker;

/// <summary>
/// A worker starting ends the jobs still claimed under its name, taking them for its own, left by a crash. A second
/// node given a running node's name would end that node's live jobs: so before it does, a starting worker looks for
/// its name in the registry, written by another instance (<see cref="WorkerRecord.Instance"/>), heard from within a
/// lease. Such an entry may be a node that has just died, or one that lives: it watches the entry for up to a lease,
/// and refuses to start if it is refreshed meanwhile.
/// </summary>
internal static class NodeNameCheck
{
    public static async Task EnsureFreeAsync(
        IJobStore store, string name, string instance, TimeSpan lease, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        if (await HeldElsewhereAsync(store, name, instance, cancellationToken) is not { } seen
            || time.GetUtcNow() - seen.LastSeenAt >= lease)
        {
            return;
        }
        ServerLog.NodeNameWatched(logger, name, lease.TotalSeconds);
        var until = time.GetUtcNow() + lease;
        while (time.GetUtcNow() < until)
        {
            // A live node refreshes its entry every third of a lease.
            await Task.Delay(lease / 6, time, cancellationToken);
            var now = await HeldElsewhereAsync(store, name, instance, cancellationToken);
            if (now is null)
            {
                return;
            }
            if (now.LastSeenAt > seen.LastSeenAt)
            {
                throw new IOException(
                    $"A worker named {name} is running on another data folder or host (its instance {now.Instance}, started " +
                    $"{now.StartedAt:u}); starting this one would end its running jobs. Give this node another --name (Runbox:NodeName).");
            }
        }
    }

    private static async Task<WorkerRecord?> HeldElsewhereAsync(IJobStore store, string name, string instance, CancellationToken cancellationToken) =>
        (await store.ListWorkersAsync(cancellationToken)).FirstOrDefault(w => w.Name == name && w.Instance is { Length: > 0 } other && other != instance);
}
