using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Runbox.Execution.Engine;
using Runbox.Execution.Runtimes;
using Runbox.Server.Configuration;
using Runbox.Server.Runtimes;
using Runbox.Storage;
using Runbox.Storage.Runtimes;

namespace Runbox.Server.Worker;

/// <summary>
/// Brings this worker's local environments to match the runtimes declared in the store: a runtime declared ready
/// somewhere is built here too (its own virtual environment under the data folder, same Python version and
/// requirements), registered with the engine, and only then claimed for. Runtimes still installing or failed, and
/// environments still building here, are not claimed: their jobs wait for a worker that has them.
/// </summary>
internal sealed class RuntimeSync(
    IJobStore store,
    Lazy<IJobEngine> engine,
    PackageManager packages,
    WorkerRuntimes runtimes,
    DataFolder data,
    IOptions<RunboxOptions> options,
    ILogger<RuntimeSync> logger) : IHostedService, IDisposable
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(2);
    /// <summary>In an environment this worker built itself; its content says what it was built with.</summary>
    internal const string MarkerFile = ".runbox-worker.json";

    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, Task> _builds = new();
    private readonly Dictionary<string, string> _registered = [];
    private Task? _loop;

    private string Folder => Path.Combine(data.Root, "runtimes");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.NoWorker)
        {
            return;
        }
        // The engine is taken lazily (an API-only node never builds it); a worker builds it now, as the first thing it
        // starts, so a work root it cannot use stops the start with the reason instead of failing each job it claims.
        _ = engine.Value;
        if (options.Value.WorkerOnly)
        {
            // Before the first pass, which deletes and rebuilds environments: pip or uv left by a killed worker (its tools
            // are marked as serve's are) would write on into the folder rebuilt here. Serve's RuntimeManager does this
            // on a node that runs both; a worker node runs no RuntimeManager.
            foreach (var pid in LeftoverTools.StopAll(Folder))
            {
                ServerLog.LeftoverWorkerToolStopped(logger, pid);
            }
        }
        if (store.Runtimes() is null)
        {
            return;
        }
        // Before the first claim, so a fresh worker never takes a job for a runtime it lacks.
        try
        {
            await SyncAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            runtimes.Set(["default"], filter: true);
            ServerLog.RuntimeSyncFault(logger, e);
        }
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken);
        }
        await Task.WhenAll(_builds.Values).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    public void Dispose() => _stop.Dispose();

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Every, _stop.Token);
                await SyncAsync(_stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                ServerLog.RuntimeSyncFault(logger, e);
            }
        }
    }

    private async Task SyncAsync(CancellationToken cancellationToken)
    {
        var declared = await store.Runtimes()!.ListRuntimesAsync(cancellationToken);
        var ready = new List<string>();
        foreach (var runtime in declared)
        {
            if (runtime.State is RuntimeState.Ready or RuntimeState.Operational && await EnsureLocalAsync(runtime, cancellationToken))
            {
                ready.Add(runtime.Name);
            }
        }
        if (!declared.Any(r => r.Name == RuntimeRules.DefaultName))
        {
            // No API node declared it yet: the engine's own default (python3 on PATH) is always there.
            ready.Add(RuntimeRules.DefaultName);
        }
        foreach (var gone in _registered.Keys.Where(name => declared.All(r => r.Name != name)).ToList())
        {
            _registered.Remove(gone);
            await engine.Value.RemoveRuntimeAsync(gone);
            TryDelete(Path.Combine(Folder, gone));
        }
        runtimes.Set(ready, filter: true);
    }

    /// <summary>Whether the runtime's environment is ready on this node; starts building it when it is not.</summary>
    private async Task<bool> EnsureLocalAsync(RuntimeRecord runtime, CancellationToken cancellationToken)
    {
        var venv = Path.Combine(Folder, runtime.Name);
        if (!options.Value.WorkerOnly && File.Exists(runtime.InterpreterPath)
            && (runtime.VenvPath is null || VenvCopies.IsFolderOf(Folder, runtime.Name, runtime.VenvPath))
            && !File.Exists(Path.Combine(runtime.VenvPath ?? venv, MarkerFile)))
        {
            // This node runs the runtime manager too (serve with an embedded worker), which registered it: in the
            // runtime's first folder, or in the copy an install switched it to.
            return true;
        }
        if (runtime.VenvPath is null)
        {
            // No environment of its own (default): this host's interpreter of that version.
            var python = File.Exists(runtime.InterpreterPath)
                ? runtime.InterpreterPath
                : (await PythonInterpreters.ResolveAsync(runtime.PythonVersionRequested, cancellationToken))?.Path;
            return python is not null && Register(runtime, python, null);
        }
        var wanted = Wanted(runtime);
        var marker = Path.Combine(venv, MarkerFile);
        if (File.Exists(marker) && await File.ReadAllTextAsync(marker, cancellationToken) == wanted && File.Exists(PackageManager.VenvPython(venv)))
        {
            return Register(runtime, PackageManager.VenvPython(venv), venv);
        }
        if (!_builds.ContainsKey(runtime.Name))
        {
            var build = Task.Run(() => BuildAsync(runtime, venv, wanted, _stop.Token), CancellationToken.None);
            _builds[runtime.Name] = build;
            _ = build.ContinueWith(_ => _builds.TryRemove(runtime.Name, out var _), TaskScheduler.Default);
        }
        return false;
    }

    private async Task BuildAsync(RuntimeRecord runtime, string venv, string wanted, CancellationToken cancellationToken)
    {
        try
        {
            ServerLog.RuntimeSyncBuilding(logger, runtime.Name, venv);
            TryDelete(venv);
            Directory.CreateDirectory(Folder);
            var interpreter = await PythonInterpreters.ResolveAsync(runtime.PythonVersionRequested ?? ShortVersion(runtime.PythonVersion), cancellationToken)
                ?? throw new InvalidOperationException($"no Python {runtime.PythonVersionRequested ?? runtime.PythonVersion} on this host");
            var created = await packages.CreateVenvAsync(interpreter.Path, venv, runtime.SystemSitePackages, cancellationToken);
            if (!created.Ok)
            {
                throw new InvalidOperationException("creating the virtual environment failed: " + created.Tail());
            }
            if (runtime.Requirements.Count > 0)
            {
                var installed = await packages.InstallAsync(PackageManager.VenvPython(venv), runtime.Requirements, null, cancellationToken);
                if (!installed.Ok)
                {
                    throw new InvalidOperationException("installing packages failed: " + installed.Tail());
                }
            }
            // Written last: its presence means the environment is whole.
            await File.WriteAllTextAsync(Path.Combine(venv, MarkerFile), wanted, cancellationToken);
            ServerLog.RuntimeSyncBuilt(logger, runtime.Name);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Retried on a later pass; meanwhile this node does not claim the runtime's jobs.
            ServerLog.RuntimeSyncBuildFault(logger, runtime.Name, e);
            await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>Tells the engine about the runtime once per change (a new definition restarts its zygote).</summary>
    private bool Register(RuntimeRecord runtime, string python, string? venv)
    {
        var signature = $"{python}|{venv}|{string.Join(',', runtime.Preload)}";
        if (_registered.TryGetValue(runtime.Name, out var known) && known == signature)
        {
            return true;
        }
        var environment = new Dictionary<string, string>();
        if (venv is not null)
        {
            environment["VIRTUAL_ENV"] = venv;
        }
        engine.Value.SetRuntime(new RuntimeDefinition { Name = runtime.Name, PythonPath = python, Preload = runtime.Preload, Environment = environment });
        _registered[runtime.Name] = signature;
        return true;
    }

    /// <summary>What the environment must hold; a change (packages installed on the API node) rebuilds it here.</summary>
    private static string Wanted(RuntimeRecord runtime) => JsonSerializer.Serialize(
        new[] { runtime.PythonVersionRequested ?? ShortVersion(runtime.PythonVersion), runtime.SystemSitePackages ? "system-site" : "isolated" }
            .Concat(runtime.Requirements).ToArray(),
        RuntimeSyncJson.Default.StringArray);

    /// <summary>"3.12.1" → "3.12": the same minor version on another host, whatever its patch level.</summary>
    private static string? ShortVersion(string version) =>
        version.Split('.') is [var major, var minor, ..] ? $"{major}.{minor}" : null;

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string?[]))]
internal sealed partial class RuntimeSyncJson : System.Text.Json.Serialization.JsonSerializerContext;
