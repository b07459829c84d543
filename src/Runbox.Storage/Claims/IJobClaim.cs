using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Claims;

/// <summary>
/// A job a worker has taken, held under a lease. It must be completed or released; disposing without either
/// releases it. Every write is fenced on the lease: once the lease is lost (expired and rescued) the writes
/// return false and change nothing.
/// </summary>
public interface IJobClaim : IAsyncDisposable
{
    JobRecord Job { get; }

    /// <summary>Which run of the job this is, from 1.</summary>
    int Attempt { get; }

    /// <summary>Extends the lease. False when it was lost.</summary>
    Task<bool> RenewAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends a batch of this run's lines in one write, fenced on the lease: false when the lease was lost (or the job
    /// was deleted), and then nothing was stored. Lines already stored (same seq) are ignored, so a batch retried after a
    /// lost acknowledgement is stored once.
    /// </summary>
    Task<bool> AppendLogsAsync(IReadOnlyList<LogLine> lines, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves (or replaces) one of this run's artifacts, fenced on the lease: false when the lease was lost (or the job
    /// was deleted), and then nothing was saved.
    /// </summary>
    /// <exception cref="ArgumentException">The name breaks <see cref="Artifacts.ArtifactName"/>'s rule.</exception>
    /// <exception cref="Artifacts.ArtifactTooLargeException">The content is larger than the store keeps; nothing was saved.</exception>
    Task<bool> SaveArtifactAsync(string name, Stream content, CancellationToken cancellationToken = default);

    /// <summary>Whether a client asked to cancel the job since it was claimed (also true once the job was deleted).</summary>
    Task<bool> IsCancelRequestedAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Records the end of the job. False when the lease was lost (someone else owns the job now). Once called, disposing
    /// no longer releases the job, even if this failed: it may have run, so the lease expires and rescue decides.
    /// </summary>
    Task<bool> CompleteAsync(JobOutcome outcome, CancellationToken cancellationToken = default);

    /// <summary>Puts the job back in the queue untouched (graceful stop before it started).</summary>
    Task ReleaseAsync(CancellationToken cancellationToken = default);
}
