using Microsoft.Extensions.Options;
using Runbox.Execution.Jobs;
using Runbox.Server.Auth;
using Runbox.Server.Configuration;
using Runbox.Storage;
using Runbox.Storage.Jobs;

namespace Runbox.Server.Jobs;

/// <summary>What the REST API and the compatibility adapters share: submitting, finding with ownership, waiting.</summary>
public sealed class JobService(
    IJobStore store, IOptions<RunboxOptions> options, TimeProvider time, Runtimes.RuntimeManager? runtimes = null, IHostApplicationLifetime? lifetime = null,
    Webhooks.WebhookDispatcher? webhooks = null)
{
    public IJobStore Store => store;

    public RunboxOptions Options => options.Value;

    /// <summary>Queues the job. A Python job on an unknown runtime, or one installing, throws RuntimeRequestException (400, 409).</summary>
    public async Task<JobRecord> SubmitAsync(JobSpec spec, Caller caller, CancellationToken cancellationToken)
    {
        if (runtimes is not null && spec.Language == "python")
        {
            await runtimes.EnsureAcceptsJobsAsync(spec.Runtime, cancellationToken);
        }
        var job = new JobRecord
        {
            // Version 7: ids sort by creation time, which keeps the store's newest-first index compact.
            Id = Guid.CreateVersion7().ToString("N"),
            Owner = caller.KeyId,
            Status = JobStatus.Queued,
            Spec = spec,
            CreatedAt = time.GetUtcNow(),
        };
        await store.InsertJobAsync(job, cancellationToken);
        return job;
    }

    /// <summary>The job when it exists and the caller may see it; another key's job reads as missing.</summary>
    /// <param name="withOutput">
    /// False for a request that needs only the job's status or owner (a page of logs, a cancel, a delete): its stdout and
    /// stderr, up to <c>Maximums:OutputBytes</c> each, are then not read (<see cref="JobOutcome.OutputLeftOut"/>).
    /// </param>
    /// <param name="withSubmission">
    /// False for every request but the job's own page (which shows its script, args and stdin): its submission, up to
    /// <c>MaxRequestBodyBytes</c>, is then not read (<see cref="JobRecord.SubmissionLeftOut"/>).
    /// </param>
    public async Task<JobRecord?> FindAsync(
        string id, Caller caller, CancellationToken cancellationToken, bool withOutput = true, bool withSubmission = true)
    {
        if (id.Length is 0 or > 64)
        {
            return null;
        }
        var job = await store.GetJobAsync(id, withOutput, withSubmission, cancellationToken);
        return job is not null && caller.CanSee(job.Owner) ? job : null;
    }

    /// <summary>
    /// Asks the job to stop (<see cref="IJobStore.RequestCancelAsync"/>). A queued job ends here, with no worker to send
    /// its callback, so this does; a running one's worker sends it when the run ends.
    /// </summary>
    public async Task<JobRecord?> RequestCancelAsync(string id, CancellationToken cancellationToken)
    {
        var (changed, ended) = await store.RequestCancelTellingEndAsync(id, cancellationToken);
        webhooks?.EnqueueIfCancelledWhileQueued(changed, ended);
        return changed;
    }

    /// <summary>
    /// Waits until the job ends or <paramref name="maxWait"/> passes; returns the latest state either way. Returns early,
    /// within a second, when the server begins to stop (see <see cref="Streaming.ServerStopping"/>).
    /// </summary>
    public async Task<JobRecord?> WaitForEndAsync(string id, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + maxWait;
        while (true)
        {
            // Waiting starts before the read: a job that ends between the read and the wait still wakes this.
            var left = deadline - time.GetUtcNow();
            var changed = store.WaitForJobChangeAsync(id, left > TimeSpan.Zero && left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1), cancellationToken);
            // Without the submission, which the answer does not show: a 5 MB script was read again at every poll.
            var job = await store.GetJobAsync(id, withOutput: true, withSubmission: false, cancellationToken);
            if (job is null || job.Status.IsTerminal() || left <= TimeSpan.Zero || lifetime?.ApplicationStopping.IsCancellationRequested == true)
            {
                return job;
            }
            await changed;
        }
    }
}
