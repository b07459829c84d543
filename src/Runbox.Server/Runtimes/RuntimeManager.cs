using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
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
    IJobStore store, Lazy<IJobEngine> engine, PackageManager packages, DataFolder data, IOptions<RunboxOptions> options, TimeProvider time,
    ILogger<RuntimeManager> logger, Webhooks.WebhookDispatcher? webhooks = null)
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

    private const string StartingZygote = "starting the runtime's zygote";

    private const string SmokeTesting = "smoke test";

    private const string WaitingForWorkers = "waiting for a worker node to build its environment and run the smoke test";

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _builds = new();
    private readonly ConcurrentDictionary<Task, bool> _background = new();

    /// <summary>Runtimes with packages being installed into a copy of their environment (jobs run on meanwhile).</summary>
    private readonly ConcurrentDictionary<string, bool> _installs = new();

    /// <summary>Runtimes whose installer runs now: only their progress is written (<see cref="_progressGate"/>).</summary>
    private readonly ConcurrentDictionary<string, bool> _installerRunning = new();

    /// <summary>
    /// Held while a progress line is written, and while an installer's end is marked: a line read before the install
    /// ended cannot then be written over the runtime's final record.
    /// </summary>
    private readonly SemaphoreSlim _progressGate = new(1, 1);
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
        if (RunsJobs)
        {
            // Before any folder is removed or rebuilt: an installer a killed server left would write on into it.
            foreach (var pid in LeftoverTools.StopAll(RuntimesFolder))
            {
                Log.LeftoverToolStopped(logger, pid);
            }
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
            else if (current.Progress is StartingZygote or SmokeTesting && current.State == RuntimeState.Operational)
            {
                // It had switched to its new environment (last_install says so); the zygote starts again on first use.
                current = await SaveAsync(current with { Progress = null }, cancellationToken);
            }
            else if (current.Progress is not null && current.State == RuntimeState.Operational)
            {
                // An install into a copy of its environment was under way: the runtime kept what it had.
                current = await SaveAsync(current with
                {
                    Progress = null,
                    LastInstall = new InstallAttempt
                    {
                        Packages = current.InstallingPackages,
                        Succeeded = false,
                        Error = "The server stopped during this install; the runtime kept what it had.",
                        EndedAt = time.GetUtcNow(),
                    },
                }, cancellationToken);
            }
            Register(current);
        }
        if (RunsJobs)
        {
            RemoveLeftoverFolders(await Runtimes.ListRuntimesAsync(cancellationToken));
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
            var listed = found.Count == 0 ? "none" : string.Join(", ", found.Select(i => i.VersionText));
            // Installed or not, one older than the zygote needs is never found: saying it is not installed would mislead.
            throw RuntimeRequestException.Invalid("python_version", Version.TryParse(pythonVersion, out var asked) && asked < PythonInterpreters.Oldest
                ? $"Python {pythonVersion} is older than {PythonInterpreters.Oldest}, the oldest a runtime runs on; found: {listed}."
                : $"no Python {pythonVersion ?? "3"} is installed on this host; found: {listed}.");
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

    /// <summary>
    /// Installs more packages into a runtime's environment, adds and removes preloads, then restarts its zygote.
    /// Removing is the way back from a preload that broke the zygote (a thread or a hang at import) short of a delete.
    /// </summary>
    public async Task<RuntimeRecord> InstallAsync(string name, IEnumerable<string>? requirements, IEnumerable<string>? preload,
        IEnumerable<string>? removePreload, CancellationToken cancellationToken)
    {
        var wanted = RuntimeRules.Requirements(requirements);
        var modules = RuntimeRules.Modules(preload);
        var dropped = RuntimeRules.Modules(removePreload, "remove_preload");
        if (wanted.Count == 0 && modules.Count == 0 && dropped.Count == 0)
        {
            throw RuntimeRequestException.Invalid("packages", "give at least one package to install (or preload module to add or remove).");
        }
        if (modules.Intersect(dropped).FirstOrDefault() is { } both)
        {
            throw RuntimeRequestException.Invalid("remove_preload", $"'{both}' is both added (preload) and removed (remove_preload); give it in one of them.");
        }
        var change = new PreloadChange(modules, dropped);
        // Before the lock, which a build in progress holds until it ends: an install then is refused, not queued behind it.
        CheckInstallable(await GetAsync(name, cancellationToken), wanted, dropped);
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
                return await DeclareInstallAsync(runtime, wanted, change, cancellationToken);
            }
            CheckInstallable(runtime, wanted, dropped);
            if (DidNotBuild(runtime) && runtime.VenvPath is not null)
            {
                // Its environment may be half made (a failed venv, a stop mid-build): built again from scratch, with
                // what it asked for before and these.
                var rebuilding = await SaveAsync(WithChanges(runtime, wanted, change) with
                {
                    State = RuntimeState.Installing,
                    Progress = "waiting to start",
                    Error = null,
                }, cancellationToken);
                Background(name, token => BuildAsync(rebuilding, token));
                return rebuilding;
            }
            // A runtime that works stays as it is, taking jobs, while the install runs in a copy of its environment.
            var installing = await SaveAsync(runtime with
            {
                State = runtime.State == RuntimeState.Failed ? RuntimeState.Installing : runtime.State,
                Progress = wanted.Count > 0 ? "installing " + string.Join(" ", wanted) : "restarting with the changed preload modules",
                InstallingPackages = wanted,
                Error = runtime.State == RuntimeState.Failed ? null : runtime.Error,
            }, cancellationToken);
            _installs[name] = true;
            Background(name, token => InstallInBackgroundAsync(installing, runtime, wanted, change, token));
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
        if (Installing(runtime))
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
            runtime = await SaveAsync(runtime with { State = RuntimeState.Ready, Progress = SmokeTesting, Error = null }, cancellationToken);
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
        if (Installing(await GetAsync(name, cancellationToken)))
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
            var installing = Installing(runtime);
            if (!force && (active.Count > 0 || installing))
            {
                throw RuntimeRequestException.Conflict(installing
                    ? $"Runtime '{name}' is installing; delete with force=true to stop it."
                    : $"{active.Count} job(s) are queued or running on runtime '{name}' ({string.Join(", ", active.Take(5).Select(j => j.Id))}); delete with force=true to cancel them.");
            }
            if (_builds.TryRemove(name, out var build))
            {
                await build.CancelAsync();
            }
            foreach (var job in active)
            {
                // A queued one ends here, with no worker to send its callback.
                var (changed, ended) = await store.RequestCancelTellingEndAsync(job.Id, cancellationToken);
                webhooks?.EnqueueIfCancelledWhileQueued(changed, ended);
            }
            if (RunsJobs)
            {
                await engine.Value.RemoveRuntimeAsync(name);
            }
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
    private async Task<RuntimeRecord> DeclareInstallAsync(RuntimeRecord runtime, IReadOnlyList<string> wanted, PreloadChange change,
        CancellationToken cancellationToken)
    {
        CheckInstallable(runtime, wanted, change.Removed);
        var declared = await SaveAsync(WithChanges(runtime, wanted, change) with
        {
            State = RuntimeState.Ready,
            Progress = WaitingForWorkers,
            Error = null,
        }, cancellationToken);
        Background(runtime.Name, token => SmokeTestAsync(declared, WorkerBuildTimeout, token));
        return declared;
    }

    /// <summary>Whether packages are being installed: a build, or an install into a copy of a working runtime.</summary>
    private bool Installing(RuntimeRecord runtime) => runtime.State == RuntimeState.Installing || _installs.ContainsKey(runtime.Name);

    private void CheckInstallable(RuntimeRecord runtime, IReadOnlyList<string> wanted, IReadOnlyList<string> dropped)
    {
        if (dropped.FirstOrDefault(m => !runtime.Preload.Contains(m)) is { } unknown)
        {
            throw RuntimeRequestException.Invalid("remove_preload",
                $"'{unknown}' is not among the preloads of runtime '{runtime.Name}' ({(runtime.Preload.Count == 0 ? "it has none" : string.Join(", ", runtime.Preload))}).");
        }
        if (Installing(runtime))
        {
            throw RuntimeRequestException.Conflict($"Runtime '{runtime.Name}' is installing already; wait until it is done.");
        }
        if (runtime.VenvPath is null && wanted.Count > 0)
        {
            throw RuntimeRequestException.Invalid("packages",
                $"runtime '{runtime.Name}' is the host's own Python without a virtual environment; create a runtime to install packages.");
        }
    }
}
