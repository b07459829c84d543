using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Runbox.Server;

namespace Runbox.Cli.Commands;

/// <summary><c>runbox serve</c>: the API, the embedded worker and the SQLite store in one process.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen.", DefaultValueFactory = _ => "http://127.0.0.1:8000" };
        var data = new Option<string?>("--data") { Description = "The data folder (database, artifacts, admin.key). Default: ./runbox-data." };
        var workers = new Option<int?>("--workers") { Description = "Jobs run at once by the embedded worker." };
        var noWorker = new Option<bool>("--no-worker") { Description = "Serve the API only; jobs wait for a worker elsewhere." };
        var socket = new Option<string?>("--socket") { Description = "The JSON-RPC Unix socket (mode 0660, no API key needed). Default: <data>/runbox.sock; 'none' for none." };
        var command = new Command("serve", "Run the Runbox server: REST API, live streams and the embedded worker. Other settings: --Runbox:Key=value.")
        {
            urls, data, workers, noWorker, socket,
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
            args.AddRange(parse.UnmatchedTokens);

            WebApplication app;
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
        });
        return command;
    }
}
