using System.CommandLine;
using Runbox.Cli.Commands;

var root = new RootCommand("Runbox runs untrusted Python, Bash and Node.js scripts in a sandbox.");
foreach (var command in CommandCatalog.All())
{
    root.Subcommands.Add(command);
}
return await root.Parse(args).InvokeAsync();
