using Microsoft.Extensions.Options;
using Runbox.Server.Auth;
using Runbox.Storage;

namespace Runbox.Server.Configuration;

/// <summary>First of the hosted services: migrates the store, makes the admin key on first start, empties scratch.</summary>
internal sealed class StoreInitializer(IJobStore store, DataFolder data, IOptions<RunboxOptions> options, TimeProvider time, ILogger<StoreInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.MigrateAsync(cancellationToken);
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
        ServerLog.StoreReady(logger, StoreFactory.Describe(options.Value, data));
        if (options.Value.NoWorker && options.Value.Store is not { Length: > 0 })
        {
            // No worker node can share a SQLite file: jobs would wait for good, and nothing else would say why.
            ServerLog.NoWorkerForSqlite(logger);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
