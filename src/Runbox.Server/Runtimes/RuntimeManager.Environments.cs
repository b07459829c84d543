using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;
using Runbox.Storage.Runtimes;

namespace Runbox.Server.Runtimes;

/// <summary>Building a runtime's environment, installing into it (or into a copy of it) and putting it to use.</summary>
public sealed partial class RuntimeManager
{
    private async Task CreateDefaultAsync(RuntimeRecord? existing, CancellationToken cancellationToken)
    {
        // The newest Python found: no venv and nothing to download, so default works on a fresh host at once.
        var interpreter = await PythonInterpreters.ResolveAsync(null, cancellationToken);
        var path = interpreter?.Path ?? InterpreterLocator.ResolvePython();
        var now = time.GetUtcNow();
        var record = new RuntimeRecord
        {
            Name = RuntimeRules.DefaultName,
            State = RuntimeState.Ready,
            PythonVersion = interpreter?.VersionText ?? "",
            BaseInterpreterPath = path,
            InterpreterPath = path,
            Packages = await packages.ListAsync(path, cancellationToken),
            Preload = existing?.Preload ?? [],
            CreatedAt = existing?.CreatedAt ?? now,
            UpdatedAt = now,
        };
        if (existing is null)
        {
            if (!await Runtimes.TryInsertRuntimeAsync(record, cancellationToken))
            {
                return; // another node starting at the same time declared it
            }
        }
        else
        {
            await SaveAsync(record, cancellationToken);
        }
        if (RunsJobs)
        {
            Register(record);
            Background(record.Name, token => CheckDefaultAsync(record, token));
        }
    }

    /// <summary>
    /// The default runtime's smoke test at first start runs on the engine directly, not as a stored job: it would
    /// otherwise show among (and page through) the users' own jobs on every fresh server.
    /// </summary>
    private async Task CheckDefaultAsync(RuntimeRecord runtime, CancellationToken cancellationToken)
    {
        var result = await engine.Value.RunAsync(new JobRequest { Runtime = runtime.Name, Script = SmokeTestScript, Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(60) } }, cancellationToken);
        var stdout = Encoding.UTF8.GetString(result.Stdout);
        var ok = result.Status == JobStatus.Succeeded && stdout.Contains("hello world", StringComparison.Ordinal);
        var latest = await Runtimes.GetRuntimeAsync(runtime.Name, cancellationToken) ?? runtime;
        await SaveAsync(latest with
        {
            State = ok ? RuntimeState.Operational : RuntimeState.Failed,
            Error = ok ? null : $"The smoke test ended {result.Status.ToWire()}: {Last((result.Error ?? Encoding.UTF8.GetString(result.Stderr)).Trim(), 1000)}",
        }, cancellationToken);
    }

    private async Task BuildAsync(RuntimeRecord runtime, CancellationToken cancellationToken)
    {
        Log.RuntimeBuilding(logger, runtime.Name, runtime.BaseInterpreterPath, runtime.VenvPath!);
        runtime = await SaveAsync(runtime with { Progress = $"creating a virtual environment from Python {runtime.PythonVersion}" }, cancellationToken);
        Directory.CreateDirectory(RuntimesFolder);
        if (Directory.Exists(runtime.VenvPath))
        {
            // Left by a runtime of the same name that was deleted while its build ran.
            Directory.Delete(runtime.VenvPath, recursive: true);
        }
        var venv = await packages.CreateVenvAsync(runtime.BaseInterpreterPath, runtime.VenvPath!, runtime.SystemSitePackages, cancellationToken);
        if (!venv.Ok)
        {
            await FailAsync(runtime, "Creating the virtual environment failed: " + venv.Tail(), cancellationToken);
            return;
        }
        if (runtime.Requirements.Count > 0)
        {
            runtime = await SaveAsync(runtime with { Progress = "installing " + string.Join(" ", runtime.Requirements) }, cancellationToken);
            var install = await packages.InstallAsync(runtime.InterpreterPath, runtime.Requirements, line => Progress(runtime.Name, line), cancellationToken);
            runtime = runtime with { LastInstall = Attempt(runtime.Requirements, install) };
            if (!install.Ok)
            {
                // The requirements say what the environment holds, and this one did not build: installing again starts
                // it afresh with what is asked then.
                await FailAsync(runtime with { Requirements = [] }, "Installing packages failed: " + runtime.LastInstall.Error, cancellationToken);
                return;
            }
        }
        await ActivateAsync(runtime, cancellationToken);
    }

    /// <summary>
    /// Installs into a copy of the runtime's environment while its jobs run on the one in use; when the install worked
    /// the runtime switches to the copy (<see cref="ActivateAsync"/>) and the old folder goes once no job runs from it.
    /// </summary>
    /// <param name="before">The runtime as it was before this install: what it stays when the install fails.</param>
    private async Task InstallInBackgroundAsync(RuntimeRecord runtime, RuntimeRecord before, IReadOnlyList<string> wanted, PreloadChange change,
        CancellationToken cancellationToken)
    {
        var copy = VenvCopies.NewPath(RuntimesFolder, runtime.Name, time.GetUtcNow());
        var switched = false;
        try
        {
            if (wanted.Count == 0)
            {
                await ActivateAsync(WithChanges(runtime, wanted, change), cancellationToken);
                return;
            }
            var install = await InstallIntoCopyAsync(runtime, copy, wanted, cancellationToken);
            var attempt = Attempt(wanted, install);
            if (!install.Ok)
            {
                // The environment in use was never touched: the runtime stays as it was, its zygote and smoke test too.
                Log.InstallFailed(logger, runtime.Name, string.Join(" ", wanted), attempt.Error ?? "");
                // Gone before the record says the install ended: a client that sees it end finds no copy left.
                RemoveFolder(copy);
                await SaveAsync(before with { LastInstall = attempt, Progress = null }, cancellationToken);
                return;
            }
            switched = true;
            await ActivateAsync(WithChanges(runtime, wanted, change) with
            {
                VenvPath = copy,
                InterpreterPath = PackageManager.VenvPython(copy),
                LastInstall = attempt,
            }, cancellationToken, retired: runtime.VenvPath);
        }
        finally
        {
            _installs.TryRemove(runtime.Name, out _);
            if (!switched)
            {
                RemoveFolder(copy);
            }
        }
    }

    private async Task<ToolOutput> InstallIntoCopyAsync(RuntimeRecord runtime, string copy, IReadOnlyList<string> wanted, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(runtime.VenvPath))
        {
            var missing = $"ERROR: the runtime's environment {runtime.VenvPath} is not on this node; delete the runtime and create it again here.";
            return new ToolOutput(1, "", missing, missing);
        }
        RemoveFolder(copy); // cp would copy into a folder already there
        var copied = await VenvCopies.CopyAsync(runtime.VenvPath, copy, Worker.RuntimeSync.MarkerFile, cancellationToken);
        if (!copied.Ok)
        {
            var failed = $"ERROR: copying the environment {runtime.VenvPath} to {copy} failed: {copied.Tail()}";
            return new ToolOutput(copied.ExitCode, "", failed, failed);
        }
        _installerRunning[runtime.Name] = true;
        try
        {
            return await packages.InstallAsync(PackageManager.VenvPython(copy), wanted, line => Progress(runtime.Name, line), cancellationToken);
        }
        finally
        {
            await _progressGate.WaitAsync(CancellationToken.None);
            _installerRunning.TryRemove(runtime.Name, out _);
            _progressGate.Release();
        }
    }

    private InstallAttempt Attempt(IReadOnlyList<string> wanted, ToolOutput install) => new()
    {
        Packages = wanted,
        Succeeded = install.Ok,
        Error = install.Ok ? null : install.Errors(),
        Output = Last(install.Output, 16_000),
        EndedAt = time.GetUtcNow(),
    };

    /// <summary>
    /// The runtime with these requirements and preload modules added after its own, none twice, and the preloads
    /// <see cref="PreloadChange.Removed"/> taken out.
    /// </summary>
    private static RuntimeRecord WithChanges(RuntimeRecord runtime, IReadOnlyList<string> wanted, PreloadChange change) => runtime with
    {
        Requirements = [.. runtime.Requirements, .. wanted.Where(w => !runtime.Requirements.Contains(w))],
        Preload = [.. runtime.Preload.Where(m => !change.Removed.Contains(m)), .. change.Added.Where(m => !runtime.Preload.Contains(m))],
    };

    /// <summary>What an install asks of the preloads: modules to add, modules to take out.</summary>
    private sealed record PreloadChange(IReadOnlyList<string> Added, IReadOnlyList<string> Removed);

    /// <summary>
    /// Records what is installed, restarts the zygote with the preloads, then smoke-tests. A runtime that was
    /// operational stays so meanwhile, taking jobs (the new zygote runs them), until the smoke test's verdict.
    /// </summary>
    /// <param name="retired">The environment the runtime used before: removed once no job runs from it.</param>
    private async Task ActivateAsync(RuntimeRecord runtime, CancellationToken cancellationToken, string? retired = null)
    {
        runtime = await SaveAsync(runtime with { Progress = StartingZygote }, cancellationToken);
        var installed = await packages.ListAsync(runtime.InterpreterPath, cancellationToken);
        // SetRuntime stops the old zygote; the warm-up starts the new one with the new packages and preloads.
        Register(runtime);
        if (retired is not null && retired != runtime.VenvPath)
        {
            Retire(runtime.Name, retired, time.GetUtcNow());
        }
        IReadOnlyDictionary<string, string> preloadErrors;
        try
        {
            preloadErrors = await engine.Value.WarmUpAsync(runtime.Name, cancellationToken);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            await FailAsync(runtime with { Packages = installed }, "The runtime's zygote did not start: " + e.Message, cancellationToken);
            return;
        }
        var ready = await SaveAsync(runtime with
        {
            State = runtime.State == RuntimeState.Operational ? RuntimeState.Operational : RuntimeState.Ready,
            Progress = SmokeTesting,
            Packages = installed,
            PreloadErrors = new Dictionary<string, string>(preloadErrors),
            Error = null,
        }, cancellationToken);
        Log.RuntimeReady(logger, runtime.Name, installed.Count, preloadErrors.Count);
        await SmokeTestAsync(ready, SmokeTestTimeout, cancellationToken);
    }
}
