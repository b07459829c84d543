namespace Runbox.Cli.Commands;

/// <summary>The flags <c>serve</c> and <c>worker</c> share for running as one node of many.</summary>
internal static class NodeArguments
{
    public static void Add(List<string> args, string? store, string? name)
    {
        if (store is { Length: > 0 })
        {
            // A PostgreSQL store is shared: this is one node of several, not the only one.
            args.Add($"--Runbox:Store={store}");
            args.Add("--Runbox:SingleNode=false");
        }
        if (name is { Length: > 0 })
        {
            args.Add($"--Runbox:NodeName={name}");
        }
    }

    /// <summary>
    /// The message for the first word left over that looks like an option but names no setting, or null. Settings go
    /// as <c>--Section:Key=value</c> (or <c>--Section:Key value</c>); a word such as <c>--wrokers</c> is a misspelt option,
    /// which would otherwise be taken for a setting nothing reads and the node would start without it.
    /// </summary>
    public static string? Refusal(IReadOnlyList<string> unmatched, string command)
    {
        foreach (var token in unmatched)
        {
            var key = token.Split('=', 2)[0];
            if (token.StartsWith('-') && !key.Contains(':', StringComparison.Ordinal))
            {
                return $"unknown option '{key}' (see runbox {command} --help; other settings go as --Runbox:Key=value)";
            }
        }
        return null;
    }
}
