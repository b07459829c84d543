namespace Runbox.Execution.Runtimes;

/// <summary>
/// What the engine needs to run Python jobs of one runtime: its interpreter and the modules its zygote imports
/// once, before forking. Creating environments and installing packages is the job of the runtime manager.
/// </summary>
public sealed record RuntimeDefinition
{
    /// <summary>The name jobs ask for in <see cref="Jobs.JobRequest.Runtime"/>.</summary>
    public required string Name { get; init; }

    /// <summary>Absolute path of the interpreter (a virtual environment's bin/python for venv runtimes).</summary>
    public required string PythonPath { get; init; }

    /// <summary>Modules the zygote imports once, so jobs start with them loaded.</summary>
    public IReadOnlyList<string> Preload { get; init; } = [];

    /// <summary>Extra variables every job of this runtime gets (VIRTUAL_ENV, a PATH with the venv's bin first).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}
