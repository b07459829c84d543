using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Claims;

/// <summary>A claimed job held under a lease, for any backend that provides <see cref="ILeaseStore"/>.</summary>
public sealed class LeasedJobClaim(ILeaseStore store, JobRecord job, string leaseToken, TimeSpan lease) : IJobClaim
{
    // Set before completing: if completing fails the job may have run, so disposing must not put it back untouched;
    // the lease then expires and rescue decides.
    private bool settled;

    public JobRecord Job => job;

    public int Attempt => job.Attempt;

    public Task<bool> RenewAsync(CancellationToken cancellationToken = default) =>
        store.RenewAsync(job.Id, leaseToken, job.Attempt, lease, cancellationToken);

    public Task<bool> AppendLogsAsync(IReadOnlyList<LogLine> lines, CancellationToken cancellationToken = default) =>
        store.AppendLogsAsync(job.Id, leaseToken, job.Attempt, lines, cancellationToken);

    public Task<bool> SaveArtifactAsync(string name, Stream content, CancellationToken cancellationToken = default) =>
        store.SaveArtifactAsync(job.Id, leaseToken, job.Attempt, name, content, cancellationToken);

    public Task<bool> IsCancelRequestedAsync(CancellationToken cancellationToken = default) =>
        store.IsCancelRequestedAsync(job.Id, cancellationToken);

    public Task<bool> CompleteAsync(JobOutcome outcome, CancellationToken cancellationToken = default)
    {
        settled = true;
        return store.CompleteAsync(job.Id, leaseToken, job.Attempt, outcome, cancellationToken);
    }

    public async Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (settled)
        {
            return;
        }
        settled = true;
        await store.ReleaseAsync(job.Id, leaseToken, job.Attempt, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await ReleaseAsync().ConfigureAwait(false);
}
