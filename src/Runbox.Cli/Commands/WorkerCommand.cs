using System.CommandLine;

namespace Runbox.Cli.Commands;

/// <summary><c>runbox worker</c>: a worker node only. It claims jobs from the shared store and answers /healthz and /readyz, nothing else.</summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var store = new Option<string?>("--store") { Description = "The PostgreSQL connection string (Host=...;Database=...) the API nodes use. Or RUNBOX_STORE." };
        var workers = NumberOption.CreateOptional<int>("--workers", "Jobs run at once on this node.");
        var name = new Option<string?>("--name") { Description = "This node's name in the workers registry (stable across restarts). Default: host name and data folder hash." };
        var data = new Option<string?>("--data") { Description = "Local folder for scratch files and job directories. Default: ./runbox-data." };
        var urls = new Option<string>("--urls") { Description = "Where /healthz and /readyz answer.", DefaultValueFactory = _ => "http://127.0.0.1:0" };
        var command = new Command("worker", "Run a worker node: claims jobs from the shared PostgreSQL store and runs them. Other settings: --Runbox:Key=value.")
        {
            store, workers, name, data, urls,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            // No JSON-RPC socket: a worker node serves health probes only.
            var args = new List<string> { "--urls", parse.GetValue(urls)!, "--Runbox:WorkerOnly=true", "--Runbox:Socket=none" };
            if (parse.GetValue(data) is { } folder)
            {
                args.Add($"--Runbox:DataDirectory={folder}");
            }
            if (parse.GetValue(workers) is { } count)
            {
                args.Add($"--Runbox:Workers={count}");
            }
            NodeArguments.Add(args, parse.GetValue(store), parse.GetValue(name));
            return await ServeCommand.RunAsync(parse, args, cancellationToken);
        });
        return command;
    }
}
