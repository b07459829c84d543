using Runbox.Storage.Artifacts;

namespace Runbox.Storage.Sqlite;

public sealed partial class SqliteJobStore
{
    public async Task SaveArtifactAsync(string jobId, string name, Stream content, CancellationToken cancellationToken = default)
    {
        ArtifactName.Validate(name);
        if (await GetJobAsync(jobId, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new KeyNotFoundException($"No job {jobId}.");
        }
        await artifacts.SaveAsync(jobId, name, content, cancellationToken).ConfigureAwait(false);
        signals.PulseJob(jobId);
    }

    public Task<IReadOnlyList<ArtifactRecord>> ListArtifactsAsync(string jobId, CancellationToken cancellationToken = default) =>
        Task.FromResult(artifacts.List(jobId));

    public Task<Stream?> OpenArtifactAsync(string jobId, string name, CancellationToken cancellationToken = default)
    {
        ArtifactName.Validate(name);
        return Task.FromResult(artifacts.Open(jobId, name));
    }
}
