using Runbox.Server.Configuration;
using Runbox.Storage;
using Runbox.Storage.Keys;

namespace Runbox.Server.Auth;

/// <summary>
/// On the first start (no admin key in the store) creates one, prints it once and saves it to admin.key (0600). Of several
/// nodes starting together on one store, only the one whose key the store took prints and saves it.
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
        DataFolder.WriteSecretFile(data.AdminKeyFile, secret + "\n");
        // Printed on stdout, not through the logger, so it is shown once to the person starting the server and not kept in log files.
        Console.Out.WriteLine($"Admin API key (shown once, saved to {data.AdminKeyFile}): {secret}");
        Console.Out.Flush();
        ServerLog.AdminKeyCreated(logger, data.AdminKeyFile);
    }
}
