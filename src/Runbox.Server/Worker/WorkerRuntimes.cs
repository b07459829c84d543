namespace Runbox.Server.Worker;

/// <summary>
/// Which runtimes this worker has ready: what it registers, and which jobs it claims. Until runtimes are declared in
/// the store, every worker has the engine's default runtime and claims any job (a job for an unknown runtime fails
/// on the worker with a clear error rather than waiting forever).
/// </summary>
public sealed class WorkerRuntimes
{
    public IReadOnlyList<string> Ready { get; private set; } = ["default"];

    /// <summary>The runtimes filter for claims; null takes any job.</summary>
    public IReadOnlyCollection<string>? ClaimFilter { get; private set; }
}
