using System.CommandLine;
using System.CommandLine.Invocation;
using Runbox.Cli.Commands;

if (StandardStreams.Refusal() is { } closed)
{
    StandardStreams.RefusalWriter().WriteLine(closed);
    return 2;
}
var root = new RootCommand("Runbox runs untrusted Python, Bash and Node.js scripts in a sandbox.");
foreach (var command in CommandCatalog.All())
{
    root.Subcommands.Add(command);
}
// No response files: a word such as @alice is the script's argument (or a file's name), never a file of words to read.
var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
if (parse.Action is ParseErrorAction)
{
    return ParseErrors.Report(parse);
}
// Ctrl-C and SIGTERM cancel the command's token; System.CommandLine's default then forces the exit after 2 s,
// which would cut `serve`'s drain short. The server bounds its own drain (Runbox:DrainSeconds), so wait longer.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromMinutes(5) };
return await parse.InvokeAsync(invocation);
