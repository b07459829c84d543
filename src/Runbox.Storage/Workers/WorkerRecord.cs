namespace Runbox.Storage.Workers;

/// <summary>A worker node as it last reported itself: what it can run and when it was last heard from.</summary>
public sealed record WorkerRecord
{
    /// <summary>The node's name; its slots claim jobs as <c>name/slot</c>.</summary>
    public required string Name { get; init; }

    public int Slots { get; init; }

    /// <summary>Slots running a job at the last heartbeat.</summary>
    public int Busy { get; init; }

    /// <summary>Runtimes ready on this node: it claims only jobs for these.</summary>
    public IReadOnlyList<string> Runtimes { get; init; } = [];

    public DateTimeOffset StartedAt { get; init; }

    /// <summary>
    /// Which process holds the name: an id kept in the node's data folder, so that a node restarted on its folder is
    /// told from another node given the same name. Empty in entries written before it was kept.
    /// </summary>
    public string Instance { get; init; } = "";

    /// <summary>Set by the store on every heartbeat, from its clock.</summary>
    public DateTimeOffset LastSeenAt { get; init; }
}
