using Runbox.Storage.Artifacts;

namespace Runbox.Storage.Sqlite;

public sealed partial class SqliteJobStore
{
    public async Task SaveArtifactAsync(string jobId, string name, Stream content, CancellationToken cancellationToken = default)
    {
        ArtifactName.Validate(name);
        if (!await JobExistsAsync(jobId, cancellationToken).ConfigureAwait(false))
        {
            throw new KeyNotFoundException($"No job {jobId}.");
        }
        await artifacts.SaveAsync(jobId, name, content, cancellationToken).ConfigureAwait(false);
        // A delete while the content was written removed the job's folder before this file was renamed into a new one,
        // which nothing would ever remove or list but for the dead job. Asked after the rename: either this finds the
        // job gone, or the delete comes later and removes the file itself.
        if (!await JobExistsAsync(jobId, CancellationToken.None).ConfigureAwait(false))
        {
            artifacts.DeleteJob(jobId);
            throw new KeyNotFoundException($"No job {jobId}.");
        }
        signals.PulseJob(jobId);
    }

    public async Task<bool> SaveArtifactAsync(string id, string token, int attempt, string name, Stream content, CancellationToken cancellationToken)
    {
        ArtifactName.Validate(name);
        var tempPath = await artifacts.WriteTempAsync(id, name, content, cancellationToken).ConfigureAwait(false);
        try
        {
            // The rename happens under the write lock with the fence checked in the same transaction: a rescue and the
            // next claim, which clears the lost run's artifacts after its commit, come wholly before it (and it is
            // refused) or wholly after (and the claim removes the file).
            var saved = await WriteAsync(async (connection, transaction) =>
            {
                await using var held = connection.Command(transaction, $"SELECT 1 FROM jobs WHERE {Fence}").WithFence(id, token, attempt);
                if (await held.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                {
                    return false;
                }
                artifacts.MoveIntoPlace(tempPath, id, name);
                return true;
            }, cancellationToken).ConfigureAwait(false);
            if (saved)
            {
                signals.PulseJob(id);
            }
            return saved;
        }
        finally
        {
            File.Delete(tempPath);
        }
    }

    public (int Files, long Bytes) RemoveLeftoverTempFiles() => artifacts.RemoveLeftoverTemps();

    public Task<IReadOnlyList<ArtifactRecord>> ListArtifactsAsync(string jobId, CancellationToken cancellationToken = default) =>
        Task.FromResult(artifacts.List(jobId));

    public Task<Stream?> OpenArtifactAsync(string jobId, string name, CancellationToken cancellationToken = default)
    {
        ArtifactName.Validate(name);
        return Task.FromResult(artifacts.Open(jobId, name));
    }
}
