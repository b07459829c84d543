using Runbox.Server.Configuration;
using Runbox.Storage;
using Runbox.Storage.Keys;

namespace Runbox.Server.Auth;

/// <summary>
/// On the first start (no admin key in the store) creates one and saves it to admin.key (0600) before the API answers,
/// and prints it once the server listens. Of several nodes starting together on one store, only the one whose key the
/// store took saves and prints it.
/// </summary>
internal static class AdminKeyBootstrap
{
    public static async Task EnsureAdminKeyAsync(IJobStore store, DataFolder data, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        var keys = await store.ListKeysAsync(cancellationToken);
        if (keys.Any(k => k.IsAdmin && k.RevokedAt is null))
        {
            return;
        }
        var secret = ApiKeySecrets.NewSecret();
        // Nodes starting together all saw no admin key above; the store lets exactly one of them insert, and only
        // that one shows and saves the secret (the others' secrets were never stored).
        var inserted = await store.InsertFirstAdminKeyAsync(new ApiKeyRecord
        {
            Id = ApiKeySecrets.NewId(),
            Name = "admin",
            Hash = ApiKeySecrets.Hash(secret),
            IsAdmin = true,
            CreatedAt = time.GetUtcNow(),
        }, cancellationToken);
        if (!inserted)
        {
            return;
        }
        // Not printed yet: a start that then cannot bind its address would show the key beside its error, and the next start,
        // the one that serves, would not show it again. The marker keeps it to be shown until a start gets that far.
        File.WriteAllBytes(data.UnshownAdminKeyFile, []);
        KeepEarlierKey(data, time, logger);
        DataFolder.WriteSecretFile(data.AdminKeyFile, secret + "\n");
        ServerLog.AdminKeyCreated(logger, data.AdminKeyFile);
    }

    /// <summary>
    /// An admin.key already in the folder is another store's (the SQLite database the folder held before the node was
    /// pointed at PostgreSQL, or another database), or a key revoked since. Overwritten, it was the only copy of that
    /// other store's admin key, and its jobs could no longer be read or its keys managed; it is kept beside, under a name
    /// of its own.
    /// </summary>
    private static void KeepEarlierKey(DataFolder data, TimeProvider time, ILogger logger)
    {
        if (!File.Exists(data.AdminKeyFile))
        {
            return;
        }
        var kept = $"{data.AdminKeyFile}.replaced-{time.GetUtcNow():yyyyMMdd'T'HHmmss'Z'}";
        for (var n = 2; File.Exists(kept); n++)
        {
            kept = $"{data.AdminKeyFile}.replaced-{time.GetUtcNow():yyyyMMdd'T'HHmmss'Z'}-{n}";
        }
        File.Move(data.AdminKeyFile, kept);
        ServerLog.AdminKeyKept(logger, kept);
    }

    /// <summary>Once the server listens: prints the admin key if no start has shown it yet, and forgets that it has to.</summary>
    public static void ShowIfUnshown(DataFolder data)
    {
        if (!File.Exists(data.UnshownAdminKeyFile))
        {
            return;
        }
        if (File.Exists(data.AdminKeyFile))
        {
            // Printed on stdout, not through the logger, so it is shown once to the person starting the server and not kept in log files.
            Console.Out.WriteLine($"Admin API key (shown once, saved to {data.AdminKeyFile}): {File.ReadAllText(data.AdminKeyFile).Trim()}");
            Console.Out.Flush();
        }
        File.Delete(data.UnshownAdminKeyFile);
    }
}
