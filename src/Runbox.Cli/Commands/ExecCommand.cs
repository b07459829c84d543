using System.CommandLine;

namespace Runbox.Cli.Commands;

/// <summary><c>runbox exec FILE</c>: runs one script locally through the engine, without a server.</summary>
internal static class ExecCommand
{
    public static Command Create()
    {
        var command = new Command("exec", "Run a script locally through the engine, without a server.");
        command.SetAction(_ => 0);
        return command;
    }
}
