using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Runbox.Server.Configuration;

namespace Runbox.Server.Webhooks;

/// <summary>The HMAC key: configured, or generated once into the data folder (0600) and reused after restarts.</summary>
public sealed class WebhookSecret
{
    public WebhookSecret(IOptions<RunboxOptions> options, DataFolder data)
    {
        if (options.Value.Webhooks.Secret is { Length: > 0 } configured)
        {
            Value = configured;
            return;
        }
        if (File.Exists(data.WebhookSecretFile))
        {
            Value = File.ReadAllText(data.WebhookSecretFile).Trim();
            return;
        }
        Value = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        DataFolder.WriteSecretFile(data.WebhookSecretFile, Value + "\n");
    }

    public string Value { get; }
}
