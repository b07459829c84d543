using Npgsql;
using NpgsqlTypes;
using Runbox.Storage.Artifacts;

namespace Runbox.Storage.Postgres;

public sealed partial class PostgresJobStore
{
    public async Task SaveArtifactAsync(string jobId, string name, Stream content, CancellationToken cancellationToken = default)
    {
        ArtifactName.Validate(name);
        var bytes = await ReadBoundedAsync(jobId, name, content, cancellationToken).ConfigureAwait(false);
        await using var save = Command($"""
            WITH saved AS (
                INSERT INTO artifacts (job_id, name, size, content, created_at) VALUES (@job, @name, @size, @content, @now)
                ON CONFLICT (job_id, name) DO UPDATE SET size = excluded.size, content = excluded.content, created_at = excluded.created_at
                RETURNING job_id AS id)
            SELECT id, {NotifyChannels.NotifyJob} FROM saved
            """)
            .With("job", jobId)
            .With("name", name)
            .With("size", (long)bytes.Length)
            .With("content", bytes, NpgsqlDbType.Bytea)
            .WithTime("now", time.GetUtcNow());
        try
        {
            await save.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException error) when (error.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            throw new KeyNotFoundException($"No job {jobId}.", error);
        }
        signals.PulseJob(jobId);
    }

    public async Task<bool> SaveArtifactAsync(string id, string token, int attempt, string name, Stream content, CancellationToken cancellationToken)
    {
        ArtifactName.Validate(name);
        var bytes = await ReadBoundedAsync(id, name, content, cancellationToken).ConfigureAwait(false);
        // FOR SHARE: a rescue waits for the save to commit (the next claim then clears it with the lost run's other
        // artifacts), or the save waits for the rescue and finds the fence gone.
        await using var save = Command($"""
            WITH job AS (SELECT id FROM jobs WHERE {Fence} FOR SHARE),
            saved AS (
                INSERT INTO artifacts (job_id, name, size, content, created_at) SELECT job.id, @name, @size, @content, @now FROM job
                ON CONFLICT (job_id, name) DO UPDATE SET size = excluded.size, content = excluded.content, created_at = excluded.created_at
                RETURNING job_id AS id)
            SELECT id, {NotifyChannels.NotifyJob} FROM saved
            """)
            .WithFence(id, token, attempt)
            .With("name", name)
            .With("size", (long)bytes.Length)
            .With("content", bytes, NpgsqlDbType.Bytea)
            .WithTime("now", time.GetUtcNow());
        var saved = await save.ReadAllAsync(_ => true, cancellationToken).ConfigureAwait(false);
        if (saved.Count == 0)
        {
            return false;
        }
        signals.PulseJob(id);
        return true;
    }

    public async Task<IReadOnlyList<ArtifactRecord>> ListArtifactsAsync(string jobId, CancellationToken cancellationToken = default)
    {
        await using var list = Command("SELECT job_id, name, size, created_at FROM artifacts WHERE job_id = @job ORDER BY name").With("job", jobId);
        return await list.ReadAllAsync(
            r => new ArtifactRecord(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetFieldValue<DateTimeOffset>(3)),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<Stream?> OpenArtifactAsync(string jobId, string name, CancellationToken cancellationToken = default)
    {
        ArtifactName.Validate(name);
        await using var open = Command("SELECT content FROM artifacts WHERE job_id = @job AND name = @name")
            .With("job", jobId)
            .With("name", name);
        return await open.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is byte[] content
            ? new MemoryStream(content, writable: false)
            : null;
    }

    /// <summary>Reads at most the limit, so an oversized upload fails before it fills memory.</summary>
    private async Task<byte[]> ReadBoundedAsync(string jobId, string name, Stream content, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await content.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxArtifactBytes)
            {
                throw new ArtifactTooLargeException(jobId, name, maxArtifactBytes);
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
