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
}
