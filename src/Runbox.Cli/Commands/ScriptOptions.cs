using System.CommandLine;
using System.CommandLine.Parsing;

namespace Runbox.Cli.Commands;

/// <summary>
/// The script and how to run it, as <c>runbox exec</c> (locally) and <c>runbox run</c> (on a server) both take them:
/// the file, its arguments, its language, its limits, network, a fresh interpreter and where to save its artifacts.
/// Runbox's options go before <c>--</c> and the script's after it. Before <c>--</c>, a word that looks like an option
/// but is none of Runbox's is refused rather than passed to the script: a misspelt <c>--timeout</c> or an option the
/// command lacks would otherwise run the job without it, silently.
/// </summary>
/// <param name="local">
/// <c>runbox exec</c>: the limits go to the engine on this machine, so they are held to what it can take. A server
/// holds them to its own maximums, so <c>runbox run</c> only checks that they are positive numbers.
/// </param>
internal sealed class ScriptOptions(bool local)
{
    /// <summary>The longest wall-clock or CPU limit exec takes: 30 days (a timer's due time ends near 49).</summary>
    private const double MaxSeconds = 30 * 24 * 3600;

    /// <summary>The largest memory or disk limit exec takes: 1 TiB, far from overflowing bytes as a long.</summary>
    private const long MaxMb = 1024 * 1024;

    public Argument<string> File { get; } = new("file") { Description = "The script to run, or - to read it from stdin." };

    public Argument<string[]> Args { get; } = new("args")
    {
        Description = "Arguments for the script, after -- (words not starting with - may also come before it).",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public Option<string?> Lang { get; } = new("--lang") { Description = "python, bash or node (default: from the file extension, else python)." };

    public Option<double?> Timeout { get; } = NumberOption.CreateOptional<double>("--timeout", "Wall-clock limit in seconds.");

    public Option<long?> Memory { get; } = NumberOption.CreateOptional<long>("--memory", "Memory limit in MB.");

    public Option<double?> Cpu { get; } = NumberOption.CreateOptional<double>("--cpu", "CPU time limit in seconds.");

    public Option<long?> Disk { get; } = NumberOption.CreateOptional<long>("--disk", "Size limit of the job's working folder in MB (needs root where the job runs).");

    /// <summary>
    /// The API's <c>output_bytes</c>, in MB as memory and disk are. Without it a job that printed more than the 1 MB
    /// default was killed, and no command line could let it print more.
    /// </summary>
    public Option<long?> Output { get; } = NumberOption.CreateOptional<long>("--output", "Output limit in MB: stdout and stderr together; past it the job is killed (default: 1).");

    /// <summary>
    /// <see cref="Output"/> in bytes, at most <see cref="long.MaxValue"/>: a number of MB too large to be bytes goes as
    /// the largest, which the server refuses naming its maximum, rather than wrapping around to a negative limit.
    /// </summary>
    public long? OutputBytes(ParseResult parse) =>
        parse.GetValue(Output) is { } mb ? (mb > long.MaxValue / (1024 * 1024) ? long.MaxValue : mb * 1024 * 1024) : null;

    public Option<bool> Network { get; } = new("--network") { Description = "Allow network access (a server may not allow it)." };

    public Option<bool> Fresh { get; } = new("--fresh") { Description = "Python: run in a freshly started interpreter instead of the zygote's fast path." };

    public Option<string?> Save { get; } = new("--save") { Description = "Save the job's artifacts (the files it leaves in its working folder) into this folder." };

    public void AddTo(Command command)
    {
        command.Arguments.Add(File);
        command.Arguments.Add(Args);
        foreach (var option in new Option[] { Lang, Timeout, Memory, Cpu, Disk, Output, Network, Fresh, Save })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The script file's bytes, or why it cannot be read: a folder, a file this user may not read, an I/O error.</summary>
    public static async Task<(byte[]? Script, string? Problem)> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        if (Directory.Exists(path))
        {
            return (null, $"cannot read {path}: it is a folder, not a script");
        }
        try
        {
            return (await System.IO.File.ReadAllBytesAsync(path, cancellationToken), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot read {path}: {e.Message}");
        }
    }

    /// <summary>
    /// The message for the first word before <c>--</c> that looks like an unknown option, or for the first limit out of
    /// range (NaN, infinite, 0 or less, or for exec more than the engine takes), or null.
    /// </summary>
    public string? Refusal(ParseResult parse) =>
        UnknownOption(parse)
        ?? LimitRefusal(parse, Timeout, parse.GetValue(Timeout), "seconds", MaxSeconds, " (30 days)")
        ?? LimitRefusal(parse, Cpu, parse.GetValue(Cpu), "seconds", MaxSeconds, " (30 days)")
        ?? LimitRefusal(parse, Memory, parse.GetValue(Memory), "MB", MaxMb, " (1 TiB)")
        ?? LimitRefusal(parse, Disk, parse.GetValue(Disk), "MB", MaxMb, " (1 TiB)")
        ?? LimitRefusal(parse, Output, parse.GetValue(Output), "MB", MaxMb, " (1 TiB)");

    private string? LimitRefusal(ParseResult parse, Option option, double? given, string unit, double maximum, string inWords)
    {
        if (given is not { } value || (value > 0 && (local ? value <= maximum : double.IsFinite(value))))
        {
            return null;
        }
        var range = local ? $"more than 0 and at most {maximum} {unit}{inWords}" : $"a number of {unit} more than 0 (the server sets the maximum)";
        return $"{option.Name} must be {range}, not {parse.GetResult(option)?.Tokens.LastOrDefault()?.Value}";
    }

    private string? UnknownOption(ParseResult parse)
    {
        var dash = IndexOf(parse.Tokens, parse.Tokens.FirstOrDefault(t => t.Type == TokenType.DoubleDash));
        foreach (var token in parse.GetResult(Args)?.Tokens ?? [])
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
