using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace Runbox.Cli.Commands;

/// <summary>
/// An option that takes a number. A word that is no number is refused as a parse error (exit 2) naming the option and
/// the word, <c>--limit must be a whole number, not 'abc'</c>. System.CommandLine's own conversion said "as expected type
/// 'System.Nullable`1[System.Double]'", and a validator reading the value (<c>jobs list --limit</c>'s range) threw on
/// it: an unhandled exception, a stack trace and exit 134.
/// </summary>
internal static class NumberOption
{
    /// <summary>
    /// An option of a number type, optional or not, parsed in the invariant culture (a decimal point, never a comma).
    /// <paramref name="minimum"/> and <paramref name="maximum"/>, when given, bound it as a parse error too.
    /// </summary>
    public static Option<T> Create<T>(string name, string description, T? minimum = null, T? maximum = null)
        where T : struct, INumber<T>
    {
        var option = new Option<T>(name) { Description = description };
        option.CustomParser = result => Parse(result, minimum, maximum) ?? default;
        return option;
    }

    /// <inheritdoc cref="Create{T}"/>
    public static Option<T?> CreateOptional<T>(string name, string description, T? minimum = null, T? maximum = null)
        where T : struct, INumber<T>
    {
        var option = new Option<T?>(name) { Description = description };
        option.CustomParser = result => Parse(result, minimum, maximum);
        return option;
    }

    private static T? Parse<T>(ArgumentResult result, T? minimum, T? maximum)
        where T : struct, INumber<T>
    {
        var name = (result.Parent as OptionResult)?.Option.Name ?? result.Argument.Name;
        var word = result.Tokens.LastOrDefault()?.Value ?? "";
        var whole = typeof(T) == typeof(int) || typeof(T) == typeof(long);
        var style = whole ? NumberStyles.Integer : NumberStyles.Float;
        if (!T.TryParse(word, style, CultureInfo.InvariantCulture, out var value))
        {
            result.AddError($"{name} must be {(whole ? "a whole number" : "a number")}, not '{word}'");
            return null;
        }
        if ((minimum is { } low && value < low) || (maximum is { } high && value > high))
        {
            result.AddError($"{name} must be between {minimum} and {maximum}, not {word}");
            return null;
        }
        return value;
    }
}
