using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Claims;

/// <summary>
/// The lease operations a backend provides so that <see cref="LeasedJobClaim"/> serves every backend. Each write
/// is fenced on the lease token and the attempt: once the lease is lost it changes nothing and returns false.
/// </summary>
public interface ILeaseStore
{
    Task<bool> RenewAsync(string id, string token, int attempt, TimeSpan lease, CancellationToken cancellationToken);

    Task<bool> AppendLogsAsync(string id, string token, int attempt, IReadOnlyList<LogLine> lines, CancellationToken cancellationToken);

    Task<bool> SaveArtifactAsync(string id, string token, int attempt, string name, Stream content, CancellationToken cancellationToken);

    Task<bool> IsCancelRequestedAsync(string id, CancellationToken cancellationToken);

    Task<bool> CompleteAsync(string id, string token, int attempt, JobOutcome outcome, CancellationToken cancellationToken);

    Task ReleaseAsync(string id, string token, int attempt, CancellationToken cancellationToken);
}
