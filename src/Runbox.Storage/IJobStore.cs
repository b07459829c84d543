using Runbox.Execution.Jobs;
using Runbox.Storage.Artifacts;
using Runbox.Storage.Claims;
using Runbox.Storage.Jobs;
using Runbox.Storage.Keys;
using Runbox.Storage.Workers;

namespace Runbox.Storage;

/// <summary>
/// The store every node shares: jobs, their log lines and artifacts, API keys, and the queue claims.
/// SQLite (one machine) and PostgreSQL (many) implement it and pass one contract test suite.
/// Waiting methods are hints: a caller always re-reads the store after one returns, so a lost notification
/// costs at most the poll interval.
/// </summary>
public interface IJobStore : IAsyncDisposable
{
    /// <summary>Creates or upgrades the schema. Safe when several nodes start at once.</summary>
    Task MigrateAsync(CancellationToken cancellationToken = default);

    /// <summary>Whether the store answers (readiness).</summary>
    Task<bool> PingAsync(CancellationToken cancellationToken = default);

    // Jobs

    /// <summary>
    /// Inserts a queued job and signals waiting workers. Durable when it returns. The record is stored as given
    /// (a job refused up front may be inserted already ended, with its outcome). Times keep microsecond precision.
    /// </summary>
    Task InsertJobAsync(JobRecord job, CancellationToken cancellationToken = default);

    /// <summary>The whole job: its submission and, once ended, its stdout and stderr (a job's own page, run again from it).</summary>
    Task<JobRecord?> GetJobAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// The job as <see cref="GetJobAsync(string, CancellationToken)"/> reads it, less its stdout and stderr unless
    /// <paramref name="withOutput"/> (<see cref="JobOutcome.OutputLeftOut"/>) and less its script, files, args, stdin and env
    /// unless <paramref name="withSubmission"/> (<see cref="JobRecord.SubmissionLeftOut"/>), for requests that need only its
    /// status or owner, or its result: a job's output may be tens of megabytes, its submission 10 MB.
    /// </summary>
    Task<JobRecord?> GetJobAsync(string id, bool withOutput, bool withSubmission, CancellationToken cancellationToken = default);
    /// <summary>
    /// A page of jobs, newest first, without their stdout and stderr unless <see cref="JobQuery.WithOutput"/> and without
    /// their submissions unless <see cref="JobQuery.WithSubmission"/>. A cursor
    /// this store did not issue throws ArgumentException.
    /// </summary>
    Task<JobPage> ListJobsAsync(JobQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// A queued job ends as cancelled at once; a running one is flagged for its worker. Returns the job after the
    /// change, without its output and submission (its status is what a caller needs), or null when there is no such job.
    /// </summary>
    Task<JobRecord?> RequestCancelAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="RequestCancelAsync"/>, also saying whether this call is the one that ended the job (found it queued):
    /// of two cancels that cross, only one did, and only its caller sends the job's callback.
    /// </summary>
    Task<(JobRecord? Job, bool Ended)> RequestCancelTellingEndAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Removes the job, its log lines and artifacts. False when there was no such job.</summary>
    Task<bool> DeleteJobAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes up to <paramref name="limit"/> ended jobs that finished before <paramref name="finishedBefore"/>, oldest
    /// first, with their log lines and artifacts (retention). Queued and running jobs are never touched, nor a runtime's
    /// smoke test while the runtime points at it (its <c>smoke_test_job_id</c>: a failed runtime's diagnosis). Returns the ids
    /// removed; fewer than <paramref name="limit"/> means none older is left.
    /// </summary>
    Task<IReadOnlyList<string>> DeleteEndedJobsAsync(DateTimeOffset finishedBefore, int limit, CancellationToken cancellationToken = default);

    /// <summary>Counts jobs by status (dashboards, readiness).</summary>
    Task<IReadOnlyDictionary<JobStatus, long>> CountJobsAsync(CancellationToken cancellationToken = default);

    // Queue

    /// <summary>Takes the oldest queued job whose runtime is in <paramref name="runtimes"/> (any when null).</summary>
    Task<IJobClaim?> ClaimAsync(string worker, TimeSpan lease, IReadOnlyCollection<string>? runtimes = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Jobs running under a lease that expired before <paramref name="now"/>: re-queued when they have attempts
    /// left, otherwise ended as error "worker lost". Returns the ids changed.
    /// </summary>
    Task<IReadOnlyList<string>> RescueExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Returns when work may be waiting (a hint) or after <paramref name="maxWait"/>.</summary>
    Task WaitForWorkAsync(TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns when the job may have changed (new log lines, status, cancel) or after <paramref name="maxWait"/>.
    /// The wait starts when this is called, not when it is awaited: call it before reading the job and await it
    /// after, so a change made between the read and the wait is not missed.
    /// </summary>
    Task WaitForJobChangeAsync(string jobId, TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>
    /// Jobs still running under a claim of <paramref name="node"/> (worker <c>node</c> or <c>node/slot</c>), left there by an
    /// earlier run of that node that died: handled like expired leases (re-queued with attempts left, else error
    /// "worker lost") without waiting for the leases. Call on start, before the node claims. Returns the ids changed.
    /// </summary>
    Task<IReadOnlyList<string>> RescueNodeAsync(string node, CancellationToken cancellationToken = default);

    // Workers

    /// <summary>Inserts or replaces the worker's entry, stamping <see cref="WorkerRecord.LastSeenAt"/> with the store's clock.</summary>
    Task HeartbeatWorkerAsync(WorkerRecord worker, CancellationToken cancellationToken = default);

    /// <summary>Every registered worker, by name, alive or not: callers judge staleness from the last heartbeat.</summary>
    Task<IReadOnlyList<WorkerRecord>> ListWorkersAsync(CancellationToken cancellationToken = default);

    /// <summary>Removes the worker's entry (graceful stop). False when there was none.</summary>
    Task<bool> RemoveWorkerAsync(string name, CancellationToken cancellationToken = default);

    // Log lines

    /// <summary>
    /// Appends a batch of lines in one transaction; lines already stored (same seq) are ignored, and so is a batch for
    /// a job that no longer exists. Not fenced: a worker appends through its claim (<see cref="IJobClaim.AppendLogsAsync"/>),
    /// so that a run that lost its lease stores nothing.
    /// </summary>
    Task AppendLogsAsync(string jobId, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken = default);

    /// <summary>Lines with seq greater than <paramref name="afterSeq"/>, in order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<LogLine>> ReadLogsAsync(string jobId, long afterSeq, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// The last <paramref name="count"/> lines, in seq order (fewer when the job has fewer). Read backwards through the
    /// (job, seq) key, so the cost is the lines returned, never the job's whole output.
    /// </summary>
    Task<IReadOnlyList<LogLine>> ReadLastLogsAsync(string jobId, int count, CancellationToken cancellationToken = default);

    // Artifacts

    /// <summary>
    /// Saves (or replaces) an artifact whole: readers see the old bytes or the new, never a mix. Not fenced: a worker
    /// saves through its claim (<see cref="IJobClaim.SaveArtifactAsync"/>), so that a run that lost its lease saves nothing.
    /// </summary>
    /// <exception cref="ArgumentException">The name breaks <see cref="ArtifactName"/>'s rule.</exception>
    /// <exception cref="ArtifactTooLargeException">The content is larger than the store keeps; nothing was saved.</exception>
    /// <exception cref="KeyNotFoundException">There is no such job.</exception>
    Task SaveArtifactAsync(string jobId, string name, Stream content, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<ArtifactRecord>> ListArtifactsAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>The artifact's bytes, or null when there is none by that name. Invalid names throw ArgumentException.</summary>
    Task<Stream?> OpenArtifactAsync(string jobId, string name, CancellationToken cancellationToken = default);

    // Keys

    Task InsertKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Inserts the admin key <paramref name="key"/> only when the store holds no admin key that is not revoked, as one
    /// atomic step: of several nodes starting together on one store exactly one inserts. True when this call inserted it.
    /// </summary>
    Task<bool> InsertFirstAdminKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken = default);

    /// <summary>The key with that hash if it exists and is not revoked.</summary>
    Task<ApiKeyRecord?> FindKeyAsync(string hash, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>False when there was no such key.</summary>
    Task<bool> RevokeKeyAsync(string id, CancellationToken cancellationToken = default);
}
