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
        var errors = parse.Errors.ToList();
        if (parse.CommandResult.Command.Subcommands.Count > 0 && parse.UnmatchedTokens.Count > 0)
        {
            // `runbox bogus`: the unknown word is the missing subcommand, so "Required command was not provided."
            // before "Unrecognized command or argument 'bogus'." said the same thing twice, the vaguer way first.
            var named = errors.Where(e => parse.UnmatchedTokens.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal))).ToList();
            if (named.Count > 0)
            {
                errors = named;
            }
        }
        foreach (var error in errors)
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
