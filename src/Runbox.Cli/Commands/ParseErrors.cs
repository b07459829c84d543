using System.CommandLine;
using System.CommandLine.Parsing;

namespace Runbox.Cli.Commands;

/// <summary>
/// A command line the parser refused: its errors on stderr and where to look, exit 2. Not the whole help on stdout,
/// which buried the error and went into whatever read the output.
/// </summary>
internal static class ParseErrors
{
    public static int Report(ParseResult parse)
    {
        foreach (var error in parse.Errors)
        {
            Console.Error.WriteLine($"runbox: {error.Message}");
        }
        Console.Error.WriteLine($"see '{CommandLine(parse.CommandResult)} --help'");
        return 2;
    }

    /// <summary>The words that name the command: "runbox jobs list".</summary>
    private static string CommandLine(CommandResult command)
    {
        var names = new List<string>();
        for (var result = command; result is not null; result = result.Parent as CommandResult)
        {
            names.Add(result.Parent is null ? "runbox" : result.Command.Name);
        }
        names.Reverse();
        return string.Join(' ', names);
    }
}
