using Runbox.Execution.Engine;

namespace Runbox.Server.Health;

/// <summary>
/// Warms the default runtime's zygote and remembers a success for a while, so a probe every few seconds does not
/// cost a zygote round trip each time; a failure is retried on the next probe.
/// </summary>
public sealed class DefaultRuntimeCheck(Lazy<IJobEngine> engine, TimeProvider time)
{
    private static readonly TimeSpan KeepSuccess = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private RuntimeReadiness? _last;
    private DateTimeOffset _checkedAt;

    public async Task<RuntimeReadiness> CheckAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_last is { Operational: true } && time.GetUtcNow() - _checkedAt < KeepSuccess)
            {
                return _last;
            }
            try
            {
                var failures = await engine.Value.WarmUpAsync("default", cancellationToken).WaitAsync(TimeSpan.FromSeconds(15), cancellationToken);
                _last = new RuntimeReadiness(true, null, new Dictionary<string, string>(failures));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _last = new RuntimeReadiness(false, e.Message, []);
            }
            _checkedAt = time.GetUtcNow();
            return _last;
        }
        finally
        {
            _gate.Release();
        }
    }
}
