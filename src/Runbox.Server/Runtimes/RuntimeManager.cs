using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Options;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Runtimes;
using Runbox.Server.Configuration;
using Runbox.Storage;
using Runbox.Storage.Jobs;
using Runbox.Storage.Runtimes;

namespace Runbox.Server.Runtimes;

/// <summary>
/// Owns the runtimes: finds interpreters, builds virtual environments, installs packages, registers each runtime with
/// the engine (its zygote preloads), smoke-tests it through the normal job path, and keeps every step in the store.
/// Work that takes long (venvs, installs, smoke tests) runs in the background; callers see <c>installing</c> at once.
/// On an API-only node (<c>--no-worker</c>) it only declares: no environment is built there and no zygote started; the
/// worker nodes build their own (<see cref="Worker.RuntimeSync"/>) and the smoke test tells when one has.
/// </summary>
public sealed partial class RuntimeManager(
    IJobStore store, IJobEngine engine, PackageManager packages, DataFolder data, IOptions<RunboxOptions> options, TimeProvider time,
    ILogger<RuntimeManager> logger)
    : IHostedService
{
    /// <summary>Owner of the smoke-test jobs: no API key, so only admins see them.</summary>
    public const string SystemOwner = "runbox-runtimes";

    private static readonly TimeSpan SmokeTestTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long an API-only node waits for the smoke test of a runtime it declared: worker nodes first build the
    /// environment (the tools' own limits are 5 minutes for the venv and 30 for the packages).
    /// </summary>
    private static readonly TimeSpan WorkerBuildTimeout = TimeSpan.FromMinutes(40);

    private const string WaitingForWorkers = "waiting for a worker node to build its environment and run the smoke test";

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _builds = new();
    private readonly ConcurrentDictionary<Task, bool> _background = new();
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Where the virtual environments live: one folder per runtime.</summary>
    public string RuntimesFolder => Path.Combine(data.Root, "runtimes");

    private IRuntimeStore Runtimes => store.Runtimes()
        ?? throw new InvalidOperationException("This store does not keep runtimes; runtimes need the SQLite or PostgreSQL store.");

    /// <summary>Whether this node runs jobs (an embedded worker): only such a node builds environments and starts zygotes.</summary>
    private bool RunsJobs => !options.Value.NoWorker;

    /// <summary>SQLite: no other node shares the records, so this node may rewrite <c>default</c> for its own host.</summary>
    private bool SoleNode => options.Value.Store is not { Length: > 0 };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (store.Runtimes() is null)
        {
            return;
        }
        foreach (var runtime in await Runtimes.ListRuntimesAsync(cancellationToken))
        {
            if (!RunsJobs)
            {
                // An API-only node builds nothing, so a runtime installing now is another node's work in progress.
                continue;
            }
            var current = runtime;
            if (current.State == RuntimeState.Installing)
            {
                // No process builds it any more: the one that did was stopped or killed.
                current = await SaveAsync(current with
                {
                    State = RuntimeState.Failed,
                    Progress = null,
                    SmokeTestJobId = null,
                    Error = "The server stopped while this runtime was installing; install again or delete it.",
                }, cancellationToken);
            }
            Register(current);
        }
        var existing = await Runtimes.GetRuntimeAsync(RuntimeRules.DefaultName, cancellationToken);
        // Rewritten for this host's Python only where no other node reads it: with a shared store each worker finds its
        // own interpreter for default, and nodes on hosts with other Pythons would otherwise overwrite each other.
        if (existing is null || (RunsJobs && SoleNode && !File.Exists(existing.InterpreterPath)))
        {
            await CreateDefaultAsync(existing, cancellationToken);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_background.Keys).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    public Task<IReadOnlyList<RuntimeRecord>> ListAsync(CancellationToken cancellationToken) => Runtimes.ListRuntimesAsync(cancellationToken);

    public async Task<RuntimeRecord> GetAsync(string name, CancellationToken cancellationToken) =>
        await Runtimes.GetRuntimeAsync(name, cancellationToken) ?? throw RuntimeRequestException.NotFound(name);

    /// <summary>
    /// Throws (400 unknown, 409 installing or failed) unless Python jobs may run on <paramref name="name"/> now.
    /// A store without runtimes accepts any name, as the engine did before runtimes existed.
    /// </summary>
    public async Task EnsureAcceptsJobsAsync(string name, CancellationToken cancellationToken)
    {
        if (store.Runtimes() is not { } runtimes)
        {
            return;
        }
        var runtime = await runtimes.GetRuntimeAsync(name, cancellationToken);
        if (runtime is null)
        {
            if (name == RuntimeRules.DefaultName)
            {
                return;
            }
            throw RuntimeRequestException.Invalid("runtime", $"there is no runtime '{name}'; create it first (POST /api/v1/runtimes).");
        }
        switch (runtime.State)
        {
            case RuntimeState.Installing:
                throw RuntimeRequestException.Conflict(
                    $"Runtime '{name}' is still installing ({runtime.Progress ?? "working"}); submit the job when its state is operational.");
            case RuntimeState.Failed:
                // Its error last: an installer's runs over several lines, which would split this sentence.
                throw RuntimeRequestException.Conflict(
                    $"Runtime '{name}' failed, so it runs no jobs. Fix it ({(DidNotBuild(runtime) ? "install packages again" : "install packages, or test it again")}) or use another runtime. Why it failed: {runtime.Error}");
        }
    }

    /// <summary>Records the runtime as installing and builds it in the background.</summary>
    public async Task<RuntimeRecord> CreateAsync(string? name, string? pythonVersion, IEnumerable<string>? requirements, IEnumerable<string>? preload,
        bool systemSitePackages, CancellationToken cancellationToken)
    {
        RuntimeRules.Name(name);
        RuntimeRules.PythonVersion(pythonVersion);
        var wanted = RuntimeRules.Requirements(requirements);
        var modules = RuntimeRules.Modules(preload);
        if (name == RuntimeRules.DefaultName)
        {
            throw RuntimeRequestException.Conflict("Runtime 'default' always exists and has no virtual environment; create a runtime of another name.");
        }
        var interpreter = await PythonInterpreters.ResolveAsync(pythonVersion, cancellationToken);
        if (interpreter is null)
        {
            var found = await PythonInterpreters.FindAllAsync(false, cancellationToken);
            throw RuntimeRequestException.Invalid("python_version",
                $"no Python {pythonVersion ?? "3"} is installed on this host; found: {(found.Count == 0 ? "none" : string.Join(", ", found.Select(i => i.VersionText)))}.");
        }
        var now = time.GetUtcNow();
        var venv = Path.Combine(RuntimesFolder, name!);
        var record = new RuntimeRecord
        {
            Name = name!,
            State = RuntimeState.Installing,
            Progress = "waiting to start",
            PythonVersionRequested = pythonVersion,
            PythonVersion = interpreter.VersionText,
            BaseInterpreterPath = interpreter.Path,
            InterpreterPath = PackageManager.VenvPython(venv),
            VenvPath = venv,
            SystemSitePackages = systemSitePackages,
            Requirements = wanted,
            Preload = modules,
            CreatedAt = now,
            UpdatedAt = now,
        };
        if (!RunsJobs)
        {
            record = record with { State = RuntimeState.Ready, Progress = WaitingForWorkers };
        }
        if (!await Runtimes.TryInsertRuntimeAsync(record, cancellationToken))
        {
            throw RuntimeRequestException.Conflict($"A runtime named '{name}' exists already: install packages into it, or delete it first to create it anew.");
        }
        var declared = record;
        Background(name!, token => RunsJobs ? BuildAsync(declared, token) : SmokeTestAsync(declared, WorkerBuildTimeout, token));
        return record;
    }

    /// <summary>Installs more packages (and preloads) into a runtime's environment, then restarts its zygote.</summary>
    public async Task<RuntimeRecord> InstallAsync(string name, IEnumerable<string>? requirements, IEnumerable<string>? preload, CancellationToken cancellationToken)
    {
        var wanted = RuntimeRules.Requirements(requirements);
        var modules = RuntimeRules.Modules(preload);
        if (wanted.Count == 0 && modules.Count == 0)
        {
            throw RuntimeRequestException.Invalid("packages", "give at least one package to install (or preload module to add).");
        }
        // Before the lock, which a build in progress holds until it ends: an install then is refused, not queued behind it.
        CheckInstallable(await GetAsync(name, cancellationToken), wanted);
        if (!RunsJobs)
        {
            if (_builds.TryRemove(name, out var waiting))
            {
                // The wait for the last smoke test (it holds the runtime's lock): this install's own smoke test replaces it.
                await waiting.CancelAsync();
            }
        }
        var gate = Lock(name);
        await gate.WaitAsync(cancellationToken);
        try
        {
            var runtime = await GetAsync(name, cancellationToken);
            if (!RunsJobs)
            {
                return await DeclareInstallAsync(runtime, wanted, modules, cancellationToken);
            }
            CheckInstallable(runtime, wanted);
            if (DidNotBuild(runtime) && runtime.VenvPath is not null)
            {
                // Its environment may be half made (a failed venv, a stop mid-build): built again from scratch, with
                // what it asked for before and these.
                var rebuilding = await SaveAsync(WithAdded(runtime, wanted, modules) with
                {
                    State = RuntimeState.Installing,
                    Progress = "waiting to start",
                    Error = null,
                }, cancellationToken);
                Background(name, token => BuildAsync(rebuilding, token));
                return rebuilding;
            }
            var installing = await SaveAsync(runtime with
            {
                State = RuntimeState.Installing,
                Progress = wanted.Count > 0 ? "installing " + string.Join(" ", wanted) : "restarting with the new preload modules",
                Error = null,
            }, cancellationToken);
            Background(name, token => InstallInBackgroundAsync(installing, runtime, wanted, modules, token));
            return installing;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Runs the smoke test now and answers with the runtime after it.</summary>
    public async Task<RuntimeRecord> TestAsync(string name, CancellationToken cancellationToken)
    {
        var runtime = await GetAsync(name, cancellationToken);
        if (runtime.State == RuntimeState.Installing)
        {
            throw RuntimeRequestException.Conflict($"Runtime '{name}' is installing; test it when that is done.");
        }
        if (DidNotBuild(runtime))
        {
            // Its environment never finished building (FailAsync): a smoke test would pass on half of it.
            throw RuntimeRequestException.Conflict($"Runtime '{name}' did not build ({runtime.Error}); install packages again or delete it.");
        }
        if (RunsJobs)
        {
            if (!File.Exists(runtime.InterpreterPath))
            {
                throw RuntimeRequestException.Conflict($"Runtime '{name}' has no interpreter at {runtime.InterpreterPath}; install it again or delete it.");
            }
            Register(runtime);
        }
        if (runtime.State == RuntimeState.Failed)
        {
            // Workers claim jobs only of runtimes ready or operational: the smoke test's own job included.
            runtime = await SaveAsync(runtime with { State = RuntimeState.Ready, Progress = "smoke test", Error = null }, cancellationToken);
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        return await SmokeTestAsync(runtime, SmokeTestTimeout, linked.Token);
    }

    /// <summary>Removes the runtime and its environment; refused while jobs are queued or running on it unless forced.</summary>
    public async Task DeleteAsync(string name, bool force, CancellationToken cancellationToken)
    {
        if (name == RuntimeRules.DefaultName)
        {
            throw RuntimeRequestException.Invalid("name", "runtime 'default' cannot be deleted.");
        }
        if ((await GetAsync(name, cancellationToken)).State == RuntimeState.Installing)
        {
            // Before the lock, which the build holds until it ends: refused at once, or (forced) the build is stopped
            // rather than waited for.
            if (!force)
            {
                throw RuntimeRequestException.Conflict($"Runtime '{name}' is installing; delete with force=true to stop it.");
            }
            if (_builds.TryRemove(name, out var building))
            {
                await building.CancelAsync();
            }
        }
        var gate = Lock(name);
        await gate.WaitAsync(cancellationToken);
        try
        {
            var runtime = await GetAsync(name, cancellationToken);
            var active = new List<JobRecord>();
            foreach (var status in new[] { JobStatus.Running, JobStatus.Queued })
            {
                var page = await store.ListJobsAsync(new JobQuery { Runtime = name, Status = status, Limit = 200 }, cancellationToken);
                active.AddRange(page.Jobs);
            }
            if (!force && (active.Count > 0 || runtime.State == RuntimeState.Installing))
            {
                throw RuntimeRequestException.Conflict(runtime.State == RuntimeState.Installing
                    ? $"Runtime '{name}' is installing; delete with force=true to stop it."
                    : $"{active.Count} job(s) are queued or running on runtime '{name}' ({string.Join(", ", active.Take(5).Select(j => j.Id))}); delete with force=true to cancel them.");
            }
            if (_builds.TryRemove(name, out var build))
            {
                await build.CancelAsync();
            }
            foreach (var job in active)
            {
                await store.RequestCancelAsync(job.Id, cancellationToken);
            }
            await engine.RemoveRuntimeAsync(name);
            await Runtimes.DeleteRuntimeAsync(name, cancellationToken);
            RemoveVenv(runtime);
            Log.RuntimeDeleted(logger, name, active.Count);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// An API-only node records the new requirements and preloads (workers rebuild when the requirements change, and
    /// restart the zygote when the preloads do) and waits for a worker to run the smoke test.
    /// </summary>
    private async Task<RuntimeRecord> DeclareInstallAsync(RuntimeRecord runtime, IReadOnlyList<string> wanted, IReadOnlyList<string> modules,
        CancellationToken cancellationToken)
    {
        CheckInstallable(runtime, wanted);
        var declared = await SaveAsync(WithAdded(runtime, wanted, modules) with
        {
            State = RuntimeState.Ready,
            Progress = WaitingForWorkers,
            Error = null,
        }, cancellationToken);
        Background(runtime.Name, token => SmokeTestAsync(declared, WorkerBuildTimeout, token));
        return declared;
    }

    private static void CheckInstallable(RuntimeRecord runtime, IReadOnlyList<string> wanted)
    {
        if (runtime.State == RuntimeState.Installing)
        {
            throw RuntimeRequestException.Conflict($"Runtime '{runtime.Name}' is installing already; wait until it is done.");
        }
        if (runtime.VenvPath is null && wanted.Count > 0)
        {
            throw RuntimeRequestException.Invalid("packages",
                $"runtime '{runtime.Name}' is the host's own Python without a virtual environment; create a runtime to install packages.");
        }
    }

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
        var result = await engine.RunAsync(new JobRequest { Runtime = runtime.Name, Script = SmokeTestScript, Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(60) } }, cancellationToken);
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

    /// <param name="before">The runtime as it was before this install: what it goes back to when the install fails.</param>
    private async Task InstallInBackgroundAsync(RuntimeRecord runtime, RuntimeRecord before, IReadOnlyList<string> wanted, IReadOnlyList<string> modules,
        CancellationToken cancellationToken)
    {
        if (wanted.Count > 0)
        {
            var install = await packages.InstallAsync(runtime.InterpreterPath, wanted, line => Progress(runtime.Name, line), cancellationToken);
            runtime = runtime with { LastInstall = Attempt(wanted, install) };
            if (!install.Ok)
            {
                await KeepAfterFailedInstallAsync(before with { LastInstall = runtime.LastInstall }, cancellationToken);
                return;
            }
        }
        await ActivateAsync(WithAdded(runtime, wanted, modules), cancellationToken);
    }

    /// <summary>
    /// A failed install into a built environment leaves the runtime as it was: its state, error, requirements, preloads
    /// and zygote, with the failure in <see cref="RuntimeRecord.LastInstall"/>. pip and uv resolve and build every
    /// package before installing any, so usually nothing changed; when something did (one package installed, the next
    /// failed), the zygote restarts on what is there and the smoke test decides whether the runtime still works.
    /// </summary>
    private async Task KeepAfterFailedInstallAsync(RuntimeRecord before, CancellationToken cancellationToken)
    {
        Log.InstallFailed(logger, before.Name, string.Join(" ", before.LastInstall!.Packages), before.LastInstall.Error ?? "");
        var installed = await packages.ListAsync(before.InterpreterPath, cancellationToken);
        if (installed.SequenceEqual(before.Packages))
        {
            await SaveAsync(before with { Progress = null }, cancellationToken);
            return;
        }
        // Installing until the smoke test decides: a poller must not take the state from before for the verdict.
        await ActivateAsync(before with { State = RuntimeState.Installing }, cancellationToken);
    }

    private InstallAttempt Attempt(IReadOnlyList<string> wanted, ToolOutput install) => new()
    {
        Packages = wanted,
        Succeeded = install.Ok,
        Error = install.Ok ? null : install.Errors(),
        Output = Last(install.Output, 16_000),
        EndedAt = time.GetUtcNow(),
    };

    /// <summary>The runtime with these requirements and preload modules added after its own, none twice.</summary>
    private static RuntimeRecord WithAdded(RuntimeRecord runtime, IReadOnlyList<string> wanted, IReadOnlyList<string> modules) => runtime with
    {
        Requirements = [.. runtime.Requirements, .. wanted.Where(w => !runtime.Requirements.Contains(w))],
        Preload = [.. runtime.Preload, .. modules.Where(m => !runtime.Preload.Contains(m))],
    };

    /// <summary>Records what is installed, restarts the zygote with the preloads, then smoke-tests.</summary>
    private async Task ActivateAsync(RuntimeRecord runtime, CancellationToken cancellationToken)
    {
        runtime = await SaveAsync(runtime with { Progress = "starting the runtime's zygote" }, cancellationToken);
        var installed = await packages.ListAsync(runtime.InterpreterPath, cancellationToken);
        // SetRuntime stops the old zygote; the warm-up starts the new one with the new packages and preloads.
        Register(runtime);
        IReadOnlyDictionary<string, string> preloadErrors;
        try
        {
            preloadErrors = await engine.WarmUpAsync(runtime.Name, cancellationToken);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            await FailAsync(runtime with { Packages = installed }, "The runtime's zygote did not start: " + e.Message, cancellationToken);
            return;
        }
        var ready = await SaveAsync(runtime with
        {
            State = RuntimeState.Ready,
            Progress = "smoke test",
            Packages = installed,
            PreloadErrors = new Dictionary<string, string>(preloadErrors),
            Error = null,
        }, cancellationToken);
        Log.RuntimeReady(logger, runtime.Name, installed.Count, preloadErrors.Count);
        await SmokeTestAsync(ready, SmokeTestTimeout, cancellationToken);
    }

    /// <summary>
    /// <c>print('hello world')</c> and the version, through the store and a worker like any job, so the whole path is
    /// tested. The job is kept: its id is on the runtime, its logs tell why a failed runtime failed.
    /// </summary>
    private async Task<RuntimeRecord> SmokeTestAsync(RuntimeRecord runtime, TimeSpan wait, CancellationToken cancellationToken)
    {
        var job = new JobRecord
        {
            Id = Guid.CreateVersion7().ToString("N"),
            Owner = SystemOwner,
            Status = JobStatus.Queued,
            Spec = new JobSpec { Runtime = runtime.Name, Script = SmokeTestScript, TimeoutSeconds = 60 },
            CreatedAt = time.GetUtcNow(),
        };
        await store.InsertJobAsync(job, cancellationToken);
        var ended = await WaitForEndAsync(job.Id, wait, cancellationToken);
        var latest = await Runtimes.GetRuntimeAsync(runtime.Name, cancellationToken) ?? runtime;
        if (latest.State == RuntimeState.Installing && runtime.State != RuntimeState.Installing)
        {
            return latest; // an install began meanwhile; its own smoke test decides
        }
        var stdout = ended?.Outcome is { } outcome ? Encoding.UTF8.GetString(outcome.Stdout) : "";
        string? error = null;
        if (ended?.Outcome is null)
        {
            error = RunsJobs
                ? $"The smoke test job {job.Id} did not end within {wait.TotalSeconds:0} s (is a worker running?)."
                : $"The smoke test job {job.Id} did not end within {wait.TotalMinutes:0} min: no worker node has built this runtime's " +
                  "environment (their logs say why) or none is running.";
        }
        else if (ended.Outcome.Status != JobStatus.Succeeded || !stdout.Contains("hello world", StringComparison.Ordinal))
        {
            var stderr = Encoding.UTF8.GetString(ended.Outcome.Stderr).Trim();
            error = $"The smoke test job {job.Id} ended {ended.Outcome.Status.ToWire()}" +
                (ended.Outcome.Error is { } why ? $" ({why})" : "") + (stderr.Length > 0 ? ": " + Last(stderr, 1000) : ".");
        }
        var result = await SaveAsync(latest with
        {
            State = error is null ? RuntimeState.Operational : RuntimeState.Failed,
            Progress = null,
            SmokeTestJobId = job.Id,
            Error = error,
        }, cancellationToken);
        if (error is null)
        {
            Log.RuntimeOperational(logger, runtime.Name, job.Id);
        }
        else
        {
            Log.RuntimeFailed(logger, runtime.Name, error);
        }
        return result;
    }

    private const string SmokeTestScript = "import sys\nprint('hello world')\nprint(sys.version)\n";

    private async Task<JobRecord?> WaitForEndAsync(string id, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + wait;
        while (true)
        {
            // Waiting starts before the read, so an end between the two is not missed.
            var changed = store.WaitForJobChangeAsync(id, TimeSpan.FromSeconds(1), cancellationToken);
            var job = await store.GetJobAsync(id, cancellationToken);
            if (job is null || job.Status.IsTerminal() || time.GetUtcNow() >= deadline)
            {
                return job;
            }
            await changed;
        }
    }

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
        engine.SetRuntime(new RuntimeDefinition
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
            try
            {
                if (await Runtimes.GetRuntimeAsync(name) is { State: RuntimeState.Installing } current)
                {
                    await Runtimes.UpdateRuntimeAsync(current with { Progress = Last(line.Trim(), 300), UpdatedAt = time.GetUtcNow() });
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.ProgressNotSaved(logger, name, e.Message);
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

    private void RemoveVenv(RuntimeRecord runtime)
    {
        // Only a folder Runbox made: never a path a record might point elsewhere.
        if (runtime.VenvPath is { } venv && Path.GetDirectoryName(Path.GetFullPath(venv)) == Path.GetFullPath(RuntimesFolder) && Directory.Exists(venv))
        {
            try
            {
                Directory.Delete(venv, recursive: true);
            }
            catch (IOException e)
            {
                Log.VenvNotRemoved(logger, venv, e.Message);
            }
        }
    }

    private static string Last(string text, int chars) => text.Length <= chars ? text : "…" + text[^chars..];
}
