using Runbox.Execution.Engine;
using Runbox.Execution.Runtimes;

namespace Runbox.Execution.Tests;

/// <summary>What tests need from the machine: a component that is absent skips the test, or fails it under CI=true.</summary>
internal static class Requires
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static void Component([System.Diagnostics.CodeAnalysis.DoesNotReturnIf(false)] bool present, string reason)
    {
        if (!present && InCi)
        {
            throw new InvalidOperationException($"CI must not skip: {reason}");
        }
        Skip.IfNot(present, reason);
    }

    public static string Node()
    {
        var node = InterpreterLocator.FindOnPath("node");
        Component(node is not null, "Node.js (node) is not installed");
        return node!;
    }
}

/// <summary>An engine working in a temporary folder of its own, shared by the tests of one class.</summary>
public sealed class EngineFixture : IAsyncLifetime
{
    public string WorkRoot { get; } = Path.Combine(Path.GetTempPath(), "runbox-tests", Guid.NewGuid().ToString("N")[..12]);

    public JobEngine Engine { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Engine = new JobEngine(new EngineOptions { WorkRoot = WorkRoot, Slots = 8, PoolSize = 2 });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await Engine.DisposeAsync();
        try
        {
            Directory.Delete(WorkRoot, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
