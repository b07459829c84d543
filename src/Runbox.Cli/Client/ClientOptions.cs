using System.CommandLine;

namespace Runbox.Cli.Client;

/// <summary>
/// The options every client command shares, with the defaults that make a local server just work:
/// <c>--server</c> (RUNBOX_SERVER, else http://127.0.0.1:8000) and <c>--key</c> (RUNBOX_KEY, else the admin.key of
/// <c>--data</c>, RUNBOX_DATA or ./runbox-data).
/// </summary>
internal sealed class ClientOptions
{
    public Option<string?> Server { get; } = new("--server") { Description = "The Runbox server (default: $RUNBOX_SERVER or http://127.0.0.1:8000)." };

    public Option<string?> Key { get; } = new("--key") { Description = "API key (default: $RUNBOX_KEY, else the data folder's admin.key)." };

    public Option<string?> Data { get; } = new("--data") { Description = "Data folder whose admin.key to use (default: $RUNBOX_DATA or ./runbox-data)." };

    public void AddTo(Command command)
    {
        command.Options.Add(Server);
        command.Options.Add(Key);
        command.Options.Add(Data);
    }

    /// <exception cref="ClientOptionException">The server is no http:// or https:// URL, or the key file cannot be read.</exception>
    public RunboxClient Connect(ParseResult parse)
    {
        var given = parse.GetValue(Server);
        var server = given ?? Variable("RUNBOX_SERVER") ?? "http://127.0.0.1:8000";
        if (!Uri.TryCreate(server, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
        {
            // "127.0.0.1:8051" is no URL at all; "localhost:8051" is one whose scheme is "localhost".
            var example = server.Contains("://", StringComparison.Ordinal) ? "http://127.0.0.1:8000" : $"http://{server}";
            throw new ClientOptionException($"{(given is null ? "$RUNBOX_SERVER" : "--server")} '{server}' is not an http:// or https:// URL (as in {example})");
        }
        var key = parse.GetValue(Key) ?? Environment.GetEnvironmentVariable("RUNBOX_KEY");
        if (!string.IsNullOrEmpty(key))
        {
            return new RunboxClient(address, key, null, Console.Error);
        }
        var data = parse.GetValue(Data);
        var folder = data ?? Variable("RUNBOX_DATA");
        var file = Path.GetFullPath(Path.Combine(folder ?? "runbox-data", "admin.key"));
        try
        {
            key = File.Exists(file) ? File.ReadAllText(file).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ClientOptionException($"cannot read the API key in {file}: {e.Message}");
        }
        // Said only if the server asks for a key: where this command looked for one.
        var searched = $"no API key found: no --key, no $RUNBOX_KEY, nothing in {file}" +
            (data is not null ? " (from --data)" : folder is not null ? " (from $RUNBOX_DATA)" : " (--data or $RUNBOX_DATA name another folder)");
        return new RunboxClient(address, string.IsNullOrEmpty(key) ? null : key, string.IsNullOrEmpty(key) ? searched : null, Console.Error);
    }

    /// <summary>An environment variable, where an empty one (<c>RUNBOX_SERVER= runbox ...</c>) counts as unset, as for RUNBOX_KEY.</summary>
    private static string? Variable(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}

/// <summary>A client option that cannot be used as given: the command stops before any request, with exit 2.</summary>
internal sealed class ClientOptionException(string message) : Exception(message);
