using Microsoft.Extensions.Options;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Server.Configuration;
using Runbox.Server.Webhooks;
using Runbox.Storage;
using Runbox.Storage.Claims;
using Runbox.Storage.Jobs;

namespace Runbox.Server.Worker;

/// <summary>
/// Runs one claimed job through the engine: streams its lines to the store, watches for a cancel request and keeps
/// the lease alive, keeps its artifacts, and records the outcome fenced on the lease.
/// </summary>
internal sealed class ClaimedJobRunner(
    Lazy<IJobEngine> engine,
    IJobStore store,
    DataFolder data,
    IOptions<RunboxOptions> options,
    WebhookDispatcher webhooks,
    TimeProvider time,
    ILogger<ClaimedJobRunner> logger)
{
    /// <summary>Shortest gap between two cancel checks, so a job that logs a lot does not turn into a query per batch.</summary>
    private static readonly TimeSpan CancelCheckGap = TimeSpan.FromMilliseconds(100);

    public async Task RunAsync(IJobClaim claim, CancellationToken stopDeadline)
    {
        var job = claim.Job;
        var artifactDirectory = Path.Combine(data.Scratch, $"{job.Id}-{claim.Attempt}");
        try
        {
            var request = JobRequestMapper.TryMap(job, artifactDirectory, options.Value.AllowNetwork, out var mapError);
            if (request is null)
            {
                await CompleteAsync(claim, ErrorOutcome(mapError!));
                return;
            }
            Directory.CreateDirectory(artifactDirectory);

            JobExecution execution;
            try
            {
                execution = await engine.Value.StartAsync(request, stopDeadline);
            }
            catch (OperationCanceledException) when (stopDeadline.IsCancellationRequested)
            {
                // Never started: another start of the server runs it.
                await claim.ReleaseAsync(CancellationToken.None);
                return;
            }

            await using var onDeadline = stopDeadline.Register(execution.Cancel);
            using var watchStop = new CancellationTokenSource();
            var hold = new RunHold(execution);
            var pump = LogBatcher.PumpAsync(execution, claim, hold, Lease, time, logger);
            var watch = WatchAsync(claim, execution, hold, watchStop.Token);

            var result = await execution.Completion;
            await pump;
            await watchStop.CancelAsync();
            await watch;
            if (hold.IsLost || !await KeepArtifactsAsync(claim, hold, result))
            {
                // Another run owns the job now, or nobody does: what this one did is not kept, its result neither.
                await LogLostAsync(job.Id);
                return;
            }

            var outcome = JobOutcome.From(result);
            if (result.Status == JobStatus.Cancelled && stopDeadline.IsCancellationRequested)
            {
                outcome = outcome with { Error = outcome.Error ?? "cancelled: the server stopped before the job ended" };
            }
            await CompleteAsync(claim, outcome);
        }
        catch (Exception e)
        {
            ServerLog.JobFault(logger, job.Id, e);
            await CompleteAsync(claim, ErrorOutcome("internal fault: " + e.Message));
        }
        finally
        {
            TryDelete(artifactDirectory);
        }
    }

    /// <summary>Cancels the execution when asked to or when the job disappears; renews the lease, stopping the run when it was lost.</summary>
    private async Task WatchAsync(IJobClaim claim, JobExecution execution, RunHold hold, CancellationToken stop)
    {
        var jobId = claim.Job.Id;
        var renewEvery = Lease / 3;
        var nextRenew = time.GetUtcNow() + renewEvery;
        var cancelled = false;
        var changed = store.WaitForJobChangeAsync(jobId, TimeSpan.FromSeconds(1), stop);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await changed;
                // The next wait starts before the reads below, so a cancel asked meanwhile is not missed.
                changed = store.WaitForJobChangeAsync(jobId, TimeSpan.FromSeconds(1), stop);
                // True too once the job was deleted (the store's contract): one query per wake.
                if (!cancelled && await claim.IsCancelRequestedAsync(stop))
                {
                    execution.Cancel();
                    cancelled = true;
                }
                if (time.GetUtcNow() >= nextRenew)
                {
                    if (!await claim.RenewAsync(stop))
                    {
                        hold.Lose();
                        return;
                    }
                    nextRenew = time.GetUtcNow() + renewEvery;
                }
                await Task.Delay(CancelCheckGap, time, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The store is unreachable for a moment (a PostgreSQL restart): the job goes on, and the next renewal
                // that reaches the store says whether the lease is still ours (unless a rescuer took it meanwhile).
                ServerLog.WatchFault(logger, jobId, e);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), time, stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>Saves the run's artifacts through the claim, fenced on its lease. False when the store refused one: the run lost the job.</summary>
    private async Task<bool> KeepArtifactsAsync(IJobClaim claim, RunHold hold, JobResult result)
    {
        foreach (var artifact in result.Artifacts)
        {
            try
            {
                await using var content = File.OpenRead(artifact.Path);
                if (!await claim.SaveArtifactAsync(artifact.Name, content))
                {
                    hold.Lose();
                    return false;
                }
            }
            catch (Exception e)
            {
                ServerLog.ArtifactFault(logger, claim.Job.Id, artifact.Name, e);
            }
        }
        return true;
    }

    private async Task CompleteAsync(IJobClaim claim, JobOutcome outcome)
    {
        var job = claim.Job;
        if (!await CompleteWithRetriesAsync(claim, outcome))
        {
            await LogLostAsync(job.Id);
            return;
        }
        ServerLog.JobEnded(logger, job.Id, outcome.Status.ToWire(), outcome.WallMs);
        if (job.Spec.CallbackUrl is { } url)
        {
            webhooks.Enqueue(job.Id, url);
        }
    }

    /// <summary>A write of the run was refused: fenced off by a rescue (an alert), or the job is gone (a client's delete, which is routine).</summary>
    private async Task LogLostAsync(string id)
    {
        if (await JobExistsAsync(id))
        {
            ServerLog.LeaseLost(logger, id);
        }
        else
        {
            ServerLog.DeletedWhileRunning(logger, id);
        }
    }

    private async Task<bool> JobExistsAsync(string id)
    {
        try
        {
            return await store.GetJobAsync(id, withOutput: false, withSubmission: false) is not null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return true;
        }
    }

    /// <summary>
    /// Retries while the store is unreachable (<see cref="StoreRetry"/>): the result is worth keeping, and the fence
    /// makes a late write harmless. After that the lease has expired and rescue decides.
    /// </summary>
    private Task<bool> CompleteWithRetriesAsync(IJobClaim claim, JobOutcome outcome) =>
        StoreRetry.ForAsync(() => claim.CompleteAsync(outcome, CancellationToken.None), Lease, time,
            (e, _) => ServerLog.WatchFault(logger, claim.Job.Id, e));

    private TimeSpan Lease => TimeSpan.FromSeconds(options.Value.LeaseSeconds);

    private JobOutcome ErrorOutcome(string error) => new()
    {
        Status = JobStatus.Error,
        Error = error,
        FinishedAt = time.GetUtcNow(),
    };

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
