using Microsoft.Extensions.Options;
using Runbox.Server.Auth;
using Runbox.Storage;

namespace Runbox.Server.Configuration;

/// <summary>
/// First of the hosted services: migrates the store, makes the admin key on first start, empties scratch; once the
/// server listens, shows the admin key if it is new.
/// </summary>
internal sealed class StoreInitializer(IJobStore store, DataFolder data, IOptions<RunboxOptions> options, TimeProvider time, ILogger<StoreInitializer> logger)
    : IHostedLifecycleService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.MigrateAsync(cancellationToken);
        // Before anything records a time: claims, heartbeats and the admin key take the database's clock.
        await DatabaseClockSync.SyncAsync(store, time, logger, cancellationToken);
        // A worker-only node serves no API, so it has no use for a key; the first API node makes it.
        if (!options.Value.WorkerOnly)
        {
            await AdminKeyBootstrap.EnsureAdminKeyAsync(store, data, time, logger, cancellationToken);
        }
        // Artifacts half-copied by a killed process: their jobs end as "worker lost", so the files are garbage.
        foreach (var leftover in Directory.EnumerateFileSystemEntries(data.Scratch))
        {
            try
            {
                if (Directory.Exists(leftover))
                {
                    Directory.Delete(leftover, recursive: true);
                }
                else
                {
                    File.Delete(leftover);
                }
            }
            catch (IOException)
            {
            }
        }
        // Likewise a save's temporary file, which nothing else would ever remove. Safe here: this process holds the data
        // folder's lock (no other node writes there) and its worker has not started.
        if (store.ArtifactTempFiles()?.RemoveLeftoverTempFiles() is { Files: > 0 } removed)
        {
            ServerLog.LeftoverTempFilesRemoved(logger, removed.Files, removed.Bytes, Path.Combine(data.Root, "tmp"));
        }
        ServerLog.StoreReady(logger, StoreFactory.Describe(options.Value, data));
        if (options.Value.NoWorker && options.Value.Store is not { Length: > 0 })
        {
            // No worker node can share a SQLite file: jobs would wait for good, and nothing else would say why.
            ServerLog.NoWorkerForSqlite(logger);
        }
    }

    /// <summary>After every hosted service started, the server's addresses bound and its socket made: nothing can fail the start now.</summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        AdminKeyBootstrap.ShowIfUnshown(data);
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
