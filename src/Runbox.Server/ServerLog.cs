namespace Runbox.Server;

/// <summary>Every log message of the server, with its event id, in one place.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(1000, LogLevel.Information, "Created the admin API key and saved it to {Path}")]
    public static partial void AdminKeyCreated(ILogger logger, string path);

    [LoggerMessage(1006, LogLevel.Warning, "The store had no admin key in force, so a new one was made; the admin.key the data folder held (another store's, or a revoked one) is kept as {Path}")]
    public static partial void AdminKeyKept(ILogger logger, string path);

    [LoggerMessage(1003, LogLevel.Warning, "{Method} {Path} answered 503: the store is unreachable ({Reason})")]
    public static partial void StoreUnavailable(ILogger logger, string method, string path, string reason);

    [LoggerMessage(1004, LogLevel.Warning, "The live stream {Path} ended early: the store is unreachable ({Reason}); its client resumes from its last event")]
    public static partial void StreamStoreUnavailable(ILogger logger, string path, string reason);

    [LoggerMessage(1005, LogLevel.Error, "JSON-RPC {Method} failed (trace id {TraceId})")]
    public static partial void RpcFault(ILogger logger, string method, string traceId, Exception exception);

    [LoggerMessage(1001, LogLevel.Information, "Store ready at {Path}")]
    public static partial void StoreReady(ILogger logger, string path);

    [LoggerMessage(1002, LogLevel.Warning, "No worker: jobs stay queued, since worker nodes need the PostgreSQL store (--store) and cannot share this SQLite file; start without --no-worker to run them here")]
    public static partial void NoWorkerForSqlite(ILogger logger);

    [LoggerMessage(1007, LogLevel.Warning, "This machine's clock differs from the PostgreSQL server's by {Seconds} s; Runbox times leases, heartbeats and jobs by the database's clock, but check this host's time sync")]
    public static partial void ClockOffset(ILogger logger, double seconds);

    [LoggerMessage(1008, LogLevel.Information, "Removed the socket file {Path} a stopped server had left; listening on it anew")]
    public static partial void StaleSocketRemoved(ILogger logger, string path);

    [LoggerMessage(1009, LogLevel.Warning, "A connection from {Client} was closed unanswered: that client already holds Runbox:MaxConnectionsPerClient ({Cap}) connections ({Refused} refused so, from any client, since this was last said; said at most every {Seconds} s)")]
    public static partial void ClientConnectionRefused(ILogger logger, string client, int cap, long refused, int seconds);

    [LoggerMessage(1010, LogLevel.Information, "Removed {Files} temporary file(s), {Bytes} bytes, that artifact saves cut short (a killed server) left in {Path}")]
    public static partial void LeftoverTempFilesRemoved(ILogger logger, int files, long bytes, string path);

    [LoggerMessage(1100, LogLevel.Information, "Worker {Node} started with {Slots} slots")]
    public static partial void WorkerStarted(ILogger logger, string node, int slots);

    [LoggerMessage(1101, LogLevel.Warning, "Jobs {Ids} were running when the worker was lost; ended or re-queued")]
    public static partial void JobsRescued(ILogger logger, string ids);

    [LoggerMessage(1102, LogLevel.Information, "Job {JobId} claimed by {Worker} (attempt {Attempt})")]
    public static partial void JobClaimed(ILogger logger, string jobId, string worker, int attempt);

    [LoggerMessage(1103, LogLevel.Information, "Job {JobId} ended {Status} in {WallMs} ms")]
    public static partial void JobEnded(ILogger logger, string jobId, string status, long wallMs);

    [LoggerMessage(1104, LogLevel.Warning, "Job {JobId}: the lease was lost; another worker owns it now")]
    public static partial void LeaseLost(ILogger logger, string jobId);

    [LoggerMessage(1121, LogLevel.Information, "Job {JobId} was deleted while it ran; its result is not kept")]
    public static partial void DeletedWhileRunning(ILogger logger, string jobId);

    [LoggerMessage(1105, LogLevel.Error, "Job {JobId} failed inside Runbox")]
    public static partial void JobFault(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(1106, LogLevel.Error, "The worker loop failed; retrying")]
    public static partial void WorkerLoopFault(ILogger logger, Exception exception);

    [LoggerMessage(1107, LogLevel.Information, "Worker stopping: {Running} jobs still running, waiting up to {Seconds} s")]
    public static partial void WorkerDraining(ILogger logger, int running, double seconds);

    [LoggerMessage(1108, LogLevel.Warning, "Worker stop deadline passed; cancelling the jobs still running")]
    public static partial void WorkerDeadline(ILogger logger);

    [LoggerMessage(1109, LogLevel.Warning, "Job {JobId}: could not store log lines; retrying for up to a lease")]
    public static partial void LogAppendFault(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(1110, LogLevel.Warning, "Job {JobId}: could not keep artifact {Name}")]
    public static partial void ArtifactFault(ILogger logger, string jobId, string name, Exception exception);

    [LoggerMessage(1111, LogLevel.Warning, "Could not rescue expired leases; retrying")]
    public static partial void RescueFault(ILogger logger, Exception exception);

    [LoggerMessage(1112, LogLevel.Warning, "Could not update this worker in the workers registry; retrying")]
    public static partial void HeartbeatFault(ILogger logger, Exception exception);

    [LoggerMessage(1113, LogLevel.Warning, "Job {JobId}: the store did not answer; the job goes on and the call is retried")]
    public static partial void WatchFault(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(1114, LogLevel.Warning, "Could not bring this worker's runtimes in line with the store; retrying")]
    public static partial void RuntimeSyncFault(ILogger logger, Exception exception);

    [LoggerMessage(1115, LogLevel.Information, "Runtime {Name}: building its environment on this worker in {Folder}")]
    public static partial void RuntimeSyncBuilding(ILogger logger, string name, string folder);

    [LoggerMessage(1116, LogLevel.Information, "Runtime {Name}: ready on this worker")]
    public static partial void RuntimeSyncBuilt(ILogger logger, string name);

    [LoggerMessage(1117, LogLevel.Warning, "Runtime {Name}: could not build it on this worker; its jobs go to other workers")]
    public static partial void RuntimeSyncBuildFault(ILogger logger, string name, Exception exception);

    [LoggerMessage(1118, LogLevel.Information, "Deleted {Count} jobs that ended more than {Days} days ago, with their logs and artifacts")]
    public static partial void JobsExpired(ILogger logger, int count, double days);

    [LoggerMessage(1119, LogLevel.Warning, "Could not delete expired jobs; retrying")]
    public static partial void RetentionFault(ILogger logger, Exception exception);

    [LoggerMessage(1120, LogLevel.Error, "Job {JobId}: gave up storing {Count} log lines (its result keeps stdout and stderr)")]
    public static partial void LogAppendDropped(ILogger logger, string jobId, int count, Exception exception);

    [LoggerMessage(1122, LogLevel.Warning, "Another node registered the name {Name} within a lease; watching its entry for up to {Seconds} s before taking the name")]
    public static partial void NodeNameWatched(ILogger logger, string name, double seconds);

    [LoggerMessage(1123, LogLevel.Warning, "Stopped installer process {Pid}, left running by a worker that was killed while it built a runtime")]
    public static partial void LeftoverWorkerToolStopped(ILogger logger, int pid);

    [LoggerMessage(1200, LogLevel.Information, "Webhook for job {JobId} delivered to {Url} ({Status})")]
    public static partial void WebhookDelivered(ILogger logger, string jobId, string url, int status);

    [LoggerMessage(1201, LogLevel.Warning, "Webhook for job {JobId} to {Url} failed (attempt {Attempt}): {Reason}")]
    public static partial void WebhookFailed(ILogger logger, string jobId, string url, int attempt, string reason);

    [LoggerMessage(1202, LogLevel.Warning, "Webhook for job {JobId} to {Url} given up after {Attempts} attempts")]
    public static partial void WebhookAbandoned(ILogger logger, string jobId, string url, int attempts);

    [LoggerMessage(1203, LogLevel.Warning, "Webhook for job {JobId} to {Url} answered 410 Gone (attempt {Attempt}): not retried")]
    public static partial void WebhookGone(ILogger logger, string jobId, string url, int attempt);

    [LoggerMessage(1204, LogLevel.Warning, "Webhook for job {JobId} to {Url} dropped after {Attempts} attempt(s): the server stopped")]
    public static partial void WebhookDropped(ILogger logger, string jobId, string url, int attempts);
}
