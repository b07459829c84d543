using Microsoft.Extensions.Options;

namespace Runbox.Server.Configuration;

/// <summary>Checks every setting and reports all the wrong ones at once, so a start fails with the full list.</summary>
internal sealed class RunboxOptionsValidator : IValidateOptions<RunboxOptions>
{
    /// <summary>
    /// Why Npgsql refuses <paramref name="connectionString"/>, or null. The keyword it names is shown only when it looks
    /// like one: an unquoted ';' in a password makes the rest of it a "keyword", which must not reach the output.
    /// </summary>
    private static string? UnparsableConnectionString(string connectionString)
    {
        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.ParamName is { Length: > 0 and <= 40 } keyword && keyword.All(c => char.IsAsciiLetterOrDigit(c) || c == ' ')
                ? $"'{keyword}' is no keyword Npgsql knows, or its value does not convert."
                : "it is not a list of Keyword=value separated by ';' (a value holding ';' or '=' goes in quotes: Password='a;b').";
        }
    }

    public ValidateOptionsResult Validate(string? name, RunboxOptions options)
    {
        var errors = new List<string>();

        void Positive(double value, string key)
        {
            if (!(value > 0) || double.IsInfinity(value))
            {
                errors.Add($"Runbox:{key} must be a positive number (got {value}).");
            }
        }

        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            errors.Add("Runbox:DataDirectory must not be empty.");
        }
        else if (Rpc.RpcSocket.PathFor(options) is { } socket && Rpc.RpcSocket.Unusable(socket) is { } unusable)
        {
            errors.Add($"Runbox:Socket: {unusable}");
        }
        if (options.Workers is < 1 or > 1024)
        {
            errors.Add($"Runbox:Workers must be between 1 and 1024 (got {options.Workers}).");
        }
        if (options.Store is { Length: > 0 } store && !store.Contains('=', StringComparison.Ordinal))
        {
            errors.Add("Runbox:Store must be a PostgreSQL connection string such as \"Host=db;Database=runbox;Username=runbox\" (or empty for SQLite).");
        }
        else if (options.Store is { Length: > 0 } connectionString && UnparsableConnectionString(connectionString) is { } why)
        {
            // A misspelt keyword (Pasword=) or a value that does not convert (Port=abc) was thrown from the store's
            // constructor as an unhandled exception with a stack trace, exit 1: a service manager restarted it for good.
            errors.Add($"Runbox:Store (--store or RUNBOX_STORE) is not a valid PostgreSQL connection string: {why}");
        }
        if (options.NodeName is { } node && (node.Length is 0 or > 100 || node.Contains('/', StringComparison.Ordinal) || node.Any(char.IsControl)))
        {
            errors.Add("Runbox:NodeName must be 1-100 characters without '/' or control characters.");
        }
        if (options.WorkerOnly && options.Store is not { Length: > 0 })
        {
            errors.Add("A worker node needs the shared store: Runbox:Store (--store or RUNBOX_STORE) must be a PostgreSQL connection string.");
        }
        if (options.WorkerOnly && options.NoWorker)
        {
            errors.Add("Runbox:WorkerOnly and Runbox:NoWorker together leave nothing to run.");
        }
        Positive(options.LeaseSeconds, "LeaseSeconds");
        Positive(options.PollSeconds, "PollSeconds");
        Positive(options.MaxWaitSeconds, "MaxWaitSeconds");
        Positive(options.StreamKeepAliveSeconds, "StreamKeepAliveSeconds");
        if (options.DrainSeconds < 0)
        {
            errors.Add($"Runbox:DrainSeconds must not be negative (got {options.DrainSeconds}).");
        }
        if (options.RetentionDays is < 0 or > 36500 || double.IsNaN(options.RetentionDays))
        {
            errors.Add($"Runbox:RetentionDays must be between 0 (keep ended jobs for good) and 36500 (got {options.RetentionDays}).");
        }
        if (options.MaxRequestBodyBytes < 1024)
        {
            errors.Add($"Runbox:MaxRequestBodyBytes must be at least 1024 (got {options.MaxRequestBodyBytes}).");
        }
        if (options.MaxConnections < 1)
        {
            errors.Add($"Runbox:MaxConnections must be at least 1 (got {options.MaxConnections}).");
        }
        if (options.MaxConnectionsPerClient < 1)
        {
            errors.Add($"Runbox:MaxConnectionsPerClient must be at least 1 (got {options.MaxConnectionsPerClient}).");
        }
        if (options.MaxJsonDepth is < 4 or > 256)
        {
            errors.Add($"Runbox:MaxJsonDepth must be between 4 and 256 (got {options.MaxJsonDepth}).");
        }

        var max = options.Maximums;
        Positive(max.TimeoutSeconds, "Maximums:TimeoutSeconds");
        Positive(max.CpuSeconds, "Maximums:CpuSeconds");
        Positive(max.MemoryMb, "Maximums:MemoryMb");
        Positive(max.Processes, "Maximums:Processes");
        Positive(max.OutputBytes, "Maximums:OutputBytes");
        Positive(max.FileSizeMb, "Maximums:FileSizeMb");
        Positive(max.DiskMb, "Maximums:DiskMb");
        Positive(max.Args, "Maximums:Args");
        Positive(max.EnvVars, "Maximums:EnvVars");
        Positive(max.ValueChars, "Maximums:ValueChars");
        Positive(max.Files, "Maximums:Files");
        Positive(max.Attempts, "Maximums:Attempts");

        Positive(options.RateLimit.RequestsPerSecond, "RateLimit:RequestsPerSecond");
        Positive(options.RateLimit.Burst, "RateLimit:Burst");
        Positive(options.RateLimit.StreamsPerKey, "RateLimit:StreamsPerKey");

        if (options.Webhooks.MaxAttempts is < 1 or > 20)
        {
            errors.Add($"Runbox:Webhooks:MaxAttempts must be between 1 and 20 (got {options.Webhooks.MaxAttempts}).");
        }
        Positive(options.Webhooks.InitialBackoffSeconds, "Webhooks:InitialBackoffSeconds");
        Positive(options.Webhooks.TimeoutSeconds, "Webhooks:TimeoutSeconds");
        if (options.Webhooks.Secret is { Length: > 0 and < 16 })
        {
            errors.Add("Runbox:Webhooks:Secret must be at least 16 characters when set.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
