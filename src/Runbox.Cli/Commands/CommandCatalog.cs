using System.CommandLine;

namespace Runbox.Cli.Commands;

/// <summary>Every subcommand of <c>runbox</c>, one factory each (one file per command).</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return ExecCommand.Create();
        yield return ServeCommand.Create();
        yield return WorkerCommand.Create();
        yield return RunCommand.Create();
        yield return JobsCommand.Create();
        yield return KeysCommand.Create();
        yield return RuntimesCommand.Create();
    }
}
