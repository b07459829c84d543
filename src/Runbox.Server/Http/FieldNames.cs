using System.Text.RegularExpressions;

namespace Runbox.Server.Http;

/// <summary>
/// How an error names a field: <c>limits.timeout</c>, <c>args[2]</c>, and a key of an object such as <c>files</c> or
/// <c>env</c> after a dot (<c>env.A</c>) unless it holds a character that would misread there (a dot, a bracket, a
/// quote, a space, a slash...), then in plain brackets (<c>files[a.py]</c>). The serializer's paths, the duplicate-member
/// check and the validator's checks of files name a member this way, so a file is named one way whichever refuses it.
/// (An env variable whose name is invalid stays <c>env[NAME]</c>: the name is what is wrong.)
/// </summary>
internal static partial class FieldNames
{
    /// <summary>The serializer's own rule for a name it must quote (System.Text.Json's ReadStack), kept here so both agree.</summary>
    private static readonly char[] NeedsBrackets = ['.', ' ', '\'', '/', '"', '[', ']', '(', ')', '\t', '\n', '\r', '\f', '\b', '\\', '\u0085', '\u2028', '\u2029'];

    /// <summary>The member <paramref name="name"/> of the object at <paramref name="parent"/> ("" at the top).</summary>
    public static string Member(string parent, string name) =>
        name.Length == 0 || name.AsSpan().IndexOfAny(NeedsBrackets) >= 0 ? $"{parent}[{name}]"
        : parent.Length > 0 ? $"{parent}.{name}"
        : name;

    /// <summary>
    /// A serializer path (<c>$.limits.timeout</c>, <c>$.files['a.py']</c>) as a field name (<c>limits.timeout</c>,
    /// <c>files[a.py]</c>); <c>body</c> for the body itself.
    /// </summary>
    public static string FromSerializerPath(string? path) =>
        path?.TrimStart('$', '.') is { Length: > 0 } field ? QuotedKey().Replace(field, "[$1]") : "body";

    [GeneratedRegex(@"\['(.*?)'\](?=$|[.\[])")]
    private static partial Regex QuotedKey();
}
