using Microsoft.Extensions.Options;
using Runbox.Server.Configuration;
using Runbox.Storage;

namespace Runbox.Server.Worker;

/// <summary>
/// The embedded worker, tied to the host's lifetime: it starts claiming when the application has started, stops
/// claiming when it is stopping, and in <see cref="StopAsync"/> lets running jobs finish until the drain deadline,
/// then cancels them.
/// </summary>
internal sealed class JobWorker : IHostedService, IDisposable
{
    private readonly IJobStore _store;
    private readonly ClaimedJobRunner _runner;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly RunboxOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<JobWorker> _logger;
    private readonly CancellationTokenSource _stopClaiming = new();
    private readonly CancellationTokenSource _stopDeadline = new();
    private readonly List<Task> _loops = [];
    private int _busy;

    public JobWorker(
        IJobStore store,
        ClaimedJobRunner runner,
        IHostApplicationLifetime lifetime,
        IOptions<RunboxOptions> options,
        TimeProvider time,
        ILogger<JobWorker> logger)
    {
        _store = store;
        _runner = runner;
        _lifetime = lifetime;
        _options = options.Value;
        _time = time;
        _logger = logger;
        Node = $"{Environment.MachineName}/{Environment.ProcessId}";
    }

    /// <summary>This process's name in the store's worker column; slots add "/N".</summary>
    public string Node { get; }

    public int Slots => _options.NoWorker ? 0 : _options.Workers;

    public int FreeSlots => Math.Max(0, Slots - Volatile.Read(ref _busy));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.NoWorker)
        {
            return;
        }
        await RescueAsync(_time.GetUtcNow(), cancellationToken);

        _lifetime.ApplicationStarted.Register(() =>
        {
            lock (_loops)
            {
                if (_stopClaiming.IsCancellationRequested)
                {
                    return;
                }
                for (var slot = 1; slot <= _options.Workers; slot++)
                {
                    var name = $"{Node}/{slot}";
                    _loops.Add(Task.Run(() => RunSlotAsync(name)));
                }
                _loops.Add(Task.Run(RescueLoopAsync));
            }
            ServerLog.WorkerStarted(_logger, Node, _options.Workers);
        });
        _lifetime.ApplicationStopping.Register(_stopClaiming.Cancel);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task all;
        lock (_loops)
        {
            _stopClaiming.Cancel();
            all = Task.WhenAll(_loops);
        }
        if (all.IsCompleted)
        {
            return;
        }
        ServerLog.WorkerDraining(_logger, Slots - FreeSlots, _options.DrainSeconds);
        var drained = await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(_options.DrainSeconds), _time, cancellationToken)) == all;
        if (!drained)
        {
            ServerLog.WorkerDeadline(_logger);
            await _stopDeadline.CancelAsync();
        }
        await all.WaitAsync(cancellationToken);
    }

    public void Dispose()
    {
        _stopClaiming.Dispose();
        _stopDeadline.Dispose();
    }

    private async Task RunSlotAsync(string worker)
    {
        var lease = TimeSpan.FromSeconds(_options.LeaseSeconds);
        var poll = TimeSpan.FromSeconds(_options.PollSeconds);
        var stop = _stopClaiming.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var claim = await _store.ClaimAsync(worker, lease, runtimes: null, stop);
                if (claim is null)
                {
                    await _store.WaitForWorkAsync(poll, stop);
                    continue;
                }
                await using (claim)
                {
                    Interlocked.Increment(ref _busy);
                    try
                    {
                        ServerLog.JobClaimed(_logger, claim.Job.Id, worker, claim.Attempt);
                        await _runner.RunAsync(claim, _stopDeadline.Token);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _busy);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                ServerLog.WorkerLoopFault(_logger, e);
                try
                {
                    await Task.Delay(poll, _time, stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>Ends or re-queues jobs of other workers whose lease ran out (they died).</summary>
    private async Task RescueLoopAsync()
    {
        // A single node checks every second: the jobs a killed predecessor left running end as soon as their
        // lease runs out, not a lease and a half later. The store can only tell expired leases apart, so the lease
        // (renewed every third of it) bounds how long such a job still reads "running" after a restart.
        var every = _options.SingleNode ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(Math.Max(1, _options.LeaseSeconds / 2));
        var stop = _stopClaiming.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, _time, stop);
                await RescueAsync(_time.GetUtcNow(), stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                ServerLog.WorkerLoopFault(_logger, e);
            }
        }
    }

    private async Task RescueAsync(DateTimeOffset horizon, CancellationToken cancellationToken)
    {
        var rescued = await _store.RescueExpiredAsync(horizon, cancellationToken);
        if (rescued.Count > 0)
        {
            ServerLog.JobsRescued(_logger, string.Join(", ", rescued));
        }
    }
}
