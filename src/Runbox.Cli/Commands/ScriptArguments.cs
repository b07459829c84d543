using System.CommandLine;
using System.CommandLine.Parsing;

namespace Runbox.Cli.Commands;

/// <summary>
/// The script's own arguments, for <c>runbox exec</c> and <c>runbox run</c>. Runbox's options go before <c>--</c> and
/// the script's after it. Before <c>--</c>, a word that looks like an option but is none of Runbox's is refused rather
/// than passed to the script: a misspelt <c>--timeout</c> or an option the command lacks would otherwise run the job
/// without it, silently.
/// </summary>
internal static class ScriptArguments
{
    public static Argument<string[]> Create() => new("args")
    {
        Description = "Arguments for the script, after -- (words not starting with - may also come before it).",
        Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>The message for the first such word, or null when there is none.</summary>
    public static string? Refusal(ParseResult parse, Argument<string[]> args)
    {
        var dash = IndexOf(parse.Tokens, parse.Tokens.FirstOrDefault(t => t.Type == TokenType.DoubleDash));
        foreach (var token in parse.GetResult(args)?.Tokens ?? [])
        {
            var index = IndexOf(parse.Tokens, token);
            if (token.Value.StartsWith('-') && token.Value != "-" && (dash < 0 || index < dash))
            {
                return $"unknown option '{token.Value}'; the script's own options go after --, as in: runbox {parse.CommandResult.Command.Name} FILE -- {token.Value}";
            }
        }
        return null;
    }

    private static int IndexOf(IReadOnlyList<Token> tokens, Token? token)
    {
        for (var i = 0; token is not null && i < tokens.Count; i++)
        {
            if (ReferenceEquals(tokens[i], token))
            {
                return i;
            }
        }
        return -1;
    }
}
