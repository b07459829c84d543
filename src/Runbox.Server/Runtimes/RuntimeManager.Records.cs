using System.Collections.Concurrent;
using Runbox.Execution.Runtimes;
using Runbox.Storage.Runtimes;

namespace Runbox.Server.Runtimes;

/// <summary>A runtime's record in the store and the engine, its progress lines, and the work in the background.</summary>
public sealed partial class RuntimeManager
{
    /// <summary>Failed before any smoke test: its environment never finished building (FailAsync clears the smoke test).</summary>
    private static bool DidNotBuild(RuntimeRecord runtime) => runtime.State == RuntimeState.Failed && runtime.SmokeTestJobId is null;

    private async Task FailAsync(RuntimeRecord runtime, string error, CancellationToken cancellationToken)
    {
        Log.RuntimeFailed(logger, runtime.Name, error);
        // No smoke test ran on what failed to build: one kept from before would be taken for this failure's (TestAsync).
        await SaveAsync(runtime with { State = RuntimeState.Failed, Progress = null, Error = error, SmokeTestJobId = null }, cancellationToken);
    }

    /// <summary>Tells the engine about the runtime; its zygote (re)starts with these preloads on next use.</summary>
    private void Register(RuntimeRecord runtime)
    {
        if (runtime.InterpreterPath.Length == 0 || !File.Exists(runtime.InterpreterPath))
        {
            return;
        }
        var environment = new Dictionary<string, string>();
        if (runtime.VenvPath is { } venv)
        {
            environment["VIRTUAL_ENV"] = venv;
        }
        engine.Value.SetRuntime(new RuntimeDefinition
        {
            Name = runtime.Name,
            PythonPath = runtime.InterpreterPath,
            Preload = runtime.Preload,
            Environment = environment,
        });
    }

    /// <summary>Saves with the current time; a runtime deleted meanwhile stays deleted.</summary>
    private async Task<RuntimeRecord> SaveAsync(RuntimeRecord runtime, CancellationToken cancellationToken)
    {
        var saved = runtime with { UpdatedAt = time.GetUtcNow() };
        await Runtimes.UpdateRuntimeAsync(saved, cancellationToken);
        return saved;
    }

    private readonly ConcurrentDictionary<string, DateTimeOffset> _progressWritten = new();

    /// <summary>The package tool's latest line as the runtime's progress, written at most every half second.</summary>
    private void Progress(string name, string line)
    {
        var now = time.GetUtcNow();
        if (line.Trim().Length == 0 || (_progressWritten.TryGetValue(name, out var last) && now - last < TimeSpan.FromMilliseconds(500)))
        {
            return;
        }
        _progressWritten[name] = now;
        _ = Task.Run(async () =>
        {
            await _progressGate.WaitAsync();
            try
            {
                if (await Runtimes.GetRuntimeAsync(name) is { } current
                    && (current.State == RuntimeState.Installing || _installerRunning.ContainsKey(name)))
                {
                    await Runtimes.UpdateRuntimeAsync(current with { Progress = Last(line.Trim(), 300), UpdatedAt = time.GetUtcNow() });
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.ProgressNotSaved(logger, name, e.Message);
            }
            finally
            {
                _progressGate.Release();
            }
        });
    }

    private void Background(string name, Func<CancellationToken, Task> work)
    {
        var build = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        _builds[name] = build;
        var task = Task.Run(async () =>
        {
            var gate = Lock(name);
            var held = false;
            try
            {
                await gate.WaitAsync(build.Token);
                held = true;
                await work(build.Token);
            }
            catch (OperationCanceledException) when (build.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.RuntimeFault(logger, name, e);
                if (await Runtimes.GetRuntimeAsync(name, CancellationToken.None) is { } runtime)
                {
                    await FailAsync(runtime, "Runbox failed while building this runtime: " + e.Message, CancellationToken.None);
                }
            }
            finally
            {
                if (held)
                {
                    gate.Release();
                }
                _builds.TryRemove(new KeyValuePair<string, CancellationTokenSource>(name, build));
                build.Dispose();
            }
        }, CancellationToken.None);
        _background[task] = true;
        _ = task.ContinueWith(t => _background.TryRemove(t, out _), TaskScheduler.Default);
    }

    private SemaphoreSlim Lock(string name) => _locks.GetOrAdd(name, _ => new SemaphoreSlim(1, 1));
}
