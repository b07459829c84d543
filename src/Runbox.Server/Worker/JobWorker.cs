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
    private readonly WorkerRuntimes _runtimes;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly RunboxOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<JobWorker> _logger;
    private readonly Webhooks.WebhookDispatcher _webhooks;
    private readonly CancellationTokenSource _stopClaiming = new();
    private readonly CancellationTokenSource _stopDeadline = new();
    private readonly List<Task> _loops = [];
    private readonly NodeIdentity _node;
    private int _busy;

    public JobWorker(
        IJobStore store,
        ClaimedJobRunner runner,
        WorkerRuntimes runtimes,
        NodeIdentity node,
        IHostApplicationLifetime lifetime,
        IOptions<RunboxOptions> options,
        TimeProvider time,
        Webhooks.WebhookDispatcher webhooks,
        ILogger<JobWorker> logger)
    {
        _webhooks = webhooks;
        _store = store;
        _runner = runner;
        _runtimes = runtimes;
        _lifetime = lifetime;
        _options = options.Value;
        _time = time;
        _logger = logger;
        Node = node.Name;
        _node = node;
    }

    /// <summary>This node's name in the store's worker column; slots add "/N".</summary>
    public string Node { get; }

    /// <summary>Which node holds <see cref="Node"/> (<see cref="NodeIdentity.Instance"/>).</summary>
    public string Instance => _node.Instance;

    public int Slots => _options.NoWorker ? 0 : _options.Workers;

    public int FreeSlots => Math.Max(0, Slots - Volatile.Read(ref _busy));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.NoWorker)
        {
            return;
        }
        await NodeNameCheck.EnsureFreeAsync(_store, Node, Instance, TimeSpan.FromSeconds(_options.LeaseSeconds), _time, _logger, cancellationToken);
        // Jobs this node was running when it died: nobody else is running them, so they need not wait for their leases.
        var orphaned = await _store.RescueNodeAsync(Node, cancellationToken);
        if (orphaned.Count > 0)
        {
            ServerLog.JobsRescued(_logger, string.Join(", ", orphaned));
            await _webhooks.EnqueueIfRescuedToEndAsync(orphaned, cancellationToken);
        }

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
                var claim = await _store.ClaimAsync(worker, lease, _runtimes.ClaimFilter, stop);
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
}
