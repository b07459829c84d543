namespace Runbox.Storage.Artifacts;

/// <summary>
/// The rule every backend applies to artifact names, so a name can never reach outside its job's folder or break a
/// header or log line: relative, '/'-separated, no empty, "." or ".." segment, no backslash, NUL or line break.
/// </summary>
public static class ArtifactName
{
    public const int MaxLength = 1024;

    /// <exception cref="ArgumentException">The name breaks the rule.</exception>
    public static void Validate(string name, string paramName = "name")
    {
        if (!IsValid(name, out var reason))
        {
            throw new ArgumentException($"Invalid artifact name: {reason}.", paramName);
        }
    }

    public static bool IsValid(string? name, out string reason)
    {
        reason = "";
        if (string.IsNullOrEmpty(name))
        {
            reason = "empty";
        }
        else if (name.Length > MaxLength)
        {
            reason = $"longer than {MaxLength} characters";
        }
        else if (name.AsSpan().IndexOfAny('\\', '\0') >= 0 || name.AsSpan().IndexOfAny('\n', '\r') >= 0)
        {
            reason = "contains a backslash, NUL or line break";
        }
        else if (name[0] == '/')
        {
            reason = "absolute";
        }
        else if (name.Split('/').Any(segment => segment is "" or "." or ".."))
        {
            reason = "has an empty, '.' or '..' segment";
        }
        return reason.Length == 0;
    }
}
