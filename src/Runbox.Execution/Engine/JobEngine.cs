using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;
using Runbox.Execution.Sandbox;

namespace Runbox.Execution.Engine;

/// <summary>The engine: one zygote per runtime, a slot per running job.</summary>
public sealed class JobEngine : IJobEngine
{
    public JobEngine(EngineOptions options)
    {
        Options = options;
    }

    public EngineOptions Options { get; }

    public SandboxCapabilities Capabilities { get; } = new();

    public int FreeSlots => Options.Slots;

    public Task<JobExecution> StartAsync(JobRequest request, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException("The engine is being written.");

    public void SetRuntime(RuntimeDefinition runtime) => throw new NotImplementedException();

    public Task RemoveRuntimeAsync(string name) => throw new NotImplementedException();

    public Task<IReadOnlyDictionary<string, string>> WarmUpAsync(string runtime, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
