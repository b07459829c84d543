using System.CommandLine;

namespace Runbox.Cli.Client;

/// <summary>
/// The options every client command shares, with the defaults that make a local server just work:
/// <c>--server</c> (RUNBOX_SERVER, else http://127.0.0.1:8000) and <c>--key</c> (RUNBOX_KEY, else the data folder's admin.key).
/// </summary>
internal sealed class ClientOptions
{
    public Option<string?> Server { get; } = new("--server") { Description = "The Runbox server (default: $RUNBOX_SERVER or http://127.0.0.1:8000)." };

    public Option<string?> Key { get; } = new("--key") { Description = "API key (default: $RUNBOX_KEY or ./runbox-data/admin.key)." };

    public Option<string?> Data { get; } = new("--data") { Description = "Data folder whose admin.key to use (default: ./runbox-data)." };

    public void AddTo(Command command)
    {
        command.Options.Add(Server);
        command.Options.Add(Key);
        command.Options.Add(Data);
    }

    public RunboxClient Connect(ParseResult parse)
    {
        var server = parse.GetValue(Server) ?? Environment.GetEnvironmentVariable("RUNBOX_SERVER") ?? "http://127.0.0.1:8000";
        var key = parse.GetValue(Key) ?? Environment.GetEnvironmentVariable("RUNBOX_KEY");
        if (string.IsNullOrEmpty(key))
        {
            var file = Path.Combine(parse.GetValue(Data) ?? Environment.GetEnvironmentVariable("RUNBOX_DATA") ?? "runbox-data", "admin.key");
            key = File.Exists(file) ? File.ReadAllText(file).Trim() : null;
        }
        return new RunboxClient(new Uri(server), key);
    }
}
