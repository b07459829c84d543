using System.CommandLine;
using System.Data.Common;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Runbox.Server;

namespace Runbox.Cli.Commands;

/// <summary><c>runbox serve</c>: the API and the embedded worker, on SQLite in the data folder or on a shared PostgreSQL.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen.", DefaultValueFactory = _ => "http://127.0.0.1:8000" };
        var data = new Option<string?>("--data") { Description = "The data folder (database, artifacts, admin.key). Default: ./runbox-data." };
        var workers = NumberOption.CreateOptional<int>("--workers", "Jobs run at once by the embedded worker. Default: 2.");
        var noWorker = new Option<bool>("--no-worker") { Description = "Serve the API only; jobs wait for a worker elsewhere." };
        var store = new Option<string?>("--store") { Description = "A PostgreSQL connection string (Host=...;Database=...) shared by every node. Default: SQLite in the data folder." };
        var name = new Option<string?>("--name") { Description = "This node's name in the workers registry (stable across restarts). Default: host name and data folder hash." };
        var socket = new Option<string?>("--socket") { Description = "The JSON-RPC Unix socket (mode 0660, no API key needed). Default: <data>/runbox.sock; 'none' for none." };
        var command = new Command("serve", "Run the Runbox server: REST API, live streams and the embedded worker. Other settings: --Runbox:Key=value.")
        {
            urls, data, workers, noWorker, store, name, socket,
        };
        // Everything else on the line (--Runbox:Maximums:TimeoutSeconds=60, ...) goes to the server's configuration.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var args = new List<string> { "--urls", parse.GetValue(urls)! };
            if (parse.GetValue(data) is { } folder)
            {
                args.Add($"--Runbox:DataDirectory={folder}");
            }
            if (parse.GetValue(workers) is { } count)
            {
                args.Add($"--Runbox:Workers={count}");
            }
            if (parse.GetValue(socket) is { } socketPath)
            {
                args.Add($"--Runbox:Socket={socketPath}");
            }
            if (parse.GetValue(noWorker))
            {
                args.Add("--Runbox:NoWorker=true");
            }
            NodeArguments.Add(args, parse.GetValue(store), parse.GetValue(name));
            return await RunAsync(parse, args, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Builds and runs the server with <paramref name="args"/> and the settings left on the command line until Ctrl-C or
    /// SIGTERM; 2 when a leftover word is no setting or the configuration is invalid, 1 when it cannot start.
    /// </summary>
    public static async Task<int> RunAsync(ParseResult parse, List<string> args, CancellationToken cancellationToken)
    {
        if (NodeArguments.Refusal(parse.UnmatchedTokens, parse.CommandResult.Command.Name) is { } refusal)
        {
            await Console.Error.WriteLineAsync($"runbox: {refusal}");
            return 2;
        }
        args.AddRange(parse.UnmatchedTokens);
        WebApplication? app = null;
        try
        {
            app = RunboxApp.Build(args.ToArray());
            await app.StartAsync(cancellationToken);
        }
        catch (OptionsValidationException e)
        {
            await Console.Error.WriteLineAsync("runbox: invalid configuration:");
            foreach (var failure in e.Failures)
            {
                await Console.Error.WriteLineAsync("  " + failure);
            }
            return 2;
        }
        catch (InvalidDataException e) when (e.InnerException is FormatException)
        {
            // appsettings.json that is no JSON (a trailing comma, a brace missing): the framework's own exception, with
            // the parser's position at the end of its chain, was an unhandled exception and exit 1, restarted for good.
            var why = e.InnerException;
            while (why.InnerException is not null)
            {
                why = why.InnerException;
            }
            await Console.Error.WriteLineAsync($"runbox: invalid configuration: {e.Message} {why.Message}");
            await StopAfterFailedStartAsync(app);
            return 2;
        }
        catch (FormatException e)
        {
            // Kestrel's only word on an address it cannot parse (--urls notaurl), thrown as it binds.
            await Console.Error.WriteLineAsync($"runbox: invalid configuration: {e.Message}; --urls takes addresses such as http://127.0.0.1:8000, separated by ';'.");
            await StopAfterFailedStartAsync(app);
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DbException)
        {
            // The address is taken, the data folder cannot be written, the store cannot be reached: say which, not a
            // stack trace. What had started already (the worker, its zygotes) is stopped.
            await Console.Error.WriteLineAsync($"runbox: cannot start: {e.Message}");
            await StopAfterFailedStartAsync(app);
            return 1;
        }
        await using (app)
        {
            try
            {
                await app.WaitForShutdownAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
            await app.StopAsync(CancellationToken.None);
        }
        return 0;
    }

    private static async Task StopAfterFailedStartAsync(WebApplication? app)
    {
        if (app is null)
        {
            return;
        }
        try
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
        catch (Exception stop) when (stop is IOException or DbException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"runbox: stopping after that failed too: {stop.Message}");
        }
    }
}
