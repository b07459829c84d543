using System.Text;
using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;
using Runbox.Storage.Runtimes;

namespace Runbox.Server.Runtimes;

/// <summary>The smoke test: a job that tells whether a runtime runs jobs.</summary>
public sealed partial class RuntimeManager
{
    /// <summary>
    /// <c>print('hello world')</c> and the version, through the store and a worker like any job, so the whole path is
    /// tested. The job is kept: its id is on the runtime, its logs tell why a failed runtime failed.
    /// </summary>
    private async Task<RuntimeRecord> SmokeTestAsync(RuntimeRecord runtime, TimeSpan wait, CancellationToken cancellationToken)
    {
        var job = new JobRecord
        {
            Id = Guid.CreateVersion7().ToString("N"),
            Owner = SystemOwner,
            Status = JobStatus.Queued,
            Spec = new JobSpec { Runtime = runtime.Name, Script = SmokeTestScript, TimeoutSeconds = 60 },
            CreatedAt = time.GetUtcNow(),
        };
        await store.InsertJobAsync(job, cancellationToken);
        var ended = await WaitForEndAsync(job.Id, wait, cancellationToken);
        var latest = await Runtimes.GetRuntimeAsync(runtime.Name, cancellationToken) ?? runtime;
        if (latest.State == RuntimeState.Installing && runtime.State != RuntimeState.Installing)
        {
            return latest; // an install began meanwhile; its own smoke test decides
        }
        var stdout = ended?.Outcome is { } outcome ? Encoding.UTF8.GetString(outcome.Stdout) : "";
        string? error = null;
        if (ended?.Outcome is null)
        {
            error = RunsJobs
                ? $"The smoke test job {job.Id} did not end within {wait.TotalSeconds:0} s (is a worker running?)."
                : $"The smoke test job {job.Id} did not end within {wait.TotalMinutes:0} min: no worker node has built this runtime's " +
                  "environment (their logs say why) or none is running.";
        }
        else if (ended.Outcome.Status != JobStatus.Succeeded || !stdout.Contains("hello world", StringComparison.Ordinal))
        {
            var stderr = Encoding.UTF8.GetString(ended.Outcome.Stderr).Trim();
            error = $"The smoke test job {job.Id} ended {ended.Outcome.Status.ToWire()}" +
                (ended.Outcome.Error is { } why ? $" ({why})" : "") + (stderr.Length > 0 ? ": " + Last(stderr, 1000) : ".");
        }
        var result = await SaveAsync(latest with
        {
            State = error is null ? RuntimeState.Operational : RuntimeState.Failed,
            Progress = null,
            SmokeTestJobId = job.Id,
            Error = error,
        }, cancellationToken);
        if (error is null)
        {
            Log.RuntimeOperational(logger, runtime.Name, job.Id);
        }
        else
        {
            Log.RuntimeFailed(logger, runtime.Name, error);
        }
        return result;
    }

    private const string SmokeTestScript = "import sys\nprint('hello world')\nprint(sys.version)\n";

    private async Task<JobRecord?> WaitForEndAsync(string id, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + wait;
        while (true)
        {
            // Waiting starts before the read, so an end between the two is not missed.
            var changed = store.WaitForJobChangeAsync(id, TimeSpan.FromSeconds(1), cancellationToken);
            var job = await store.GetJobAsync(id, withOutput: true, withSubmission: false, cancellationToken);
            if (job is null || job.Status.IsTerminal() || time.GetUtcNow() >= deadline)
            {
                return job;
            }
            await changed;
        }
    }
}
