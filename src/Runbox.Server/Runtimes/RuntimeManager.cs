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
            // A runtime that works stays as it is, taking jobs, while the install runs in a copy of its environment.
            var installing = await SaveAsync(runtime with
            {
                State = runtime.State == RuntimeState.Failed ? RuntimeState.Installing : runtime.State,
                Progress = wanted.Count > 0 ? "installing " + string.Join(" ", wanted) : "restarting with the new preload modules",
                Error = runtime.State == RuntimeState.Failed ? null : runtime.Error,
            }, cancellationToken);
            _installs[name] = true;
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

    /// <summary>Whether packages are being installed: a build, or an install into a copy of a working runtime.</summary>
    private bool Installing(RuntimeRecord runtime) => runtime.State == RuntimeState.Installing || _installs.ContainsKey(runtime.Name);

    private void CheckInstallable(RuntimeRecord runtime, IReadOnlyList<string> wanted)
    {
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

    /// <summary>
    /// Installs into a copy of the runtime's environment while its jobs run on the one in use; when the install worked
    /// the runtime switches to the copy (<see cref="ActivateAsync"/>) and the old folder goes once no job runs from it.
    /// </summary>
    /// <param name="before">The runtime as it was before this install: what it stays when the install fails.</param>
    private async Task InstallInBackgroundAsync(RuntimeRecord runtime, RuntimeRecord before, IReadOnlyList<string> wanted, IReadOnlyList<string> modules,
        CancellationToken cancellationToken)
    {
        var copy = VenvCopies.NewPath(RuntimesFolder, runtime.Name, time.GetUtcNow());
        var switched = false;
        try
        {
            if (wanted.Count == 0)
            {
                await ActivateAsync(WithAdded(runtime, wanted, modules), cancellationToken);
                return;
            }
            var install = await InstallIntoCopyAsync(runtime, copy, wanted, cancellationToken);
            var attempt = Attempt(wanted, install);
            if (!install.Ok)
            {
                // The environment in use was never touched: the runtime stays as it was, its zygote and smoke test too.
                Log.InstallFailed(logger, runtime.Name, string.Join(" ", wanted), attempt.Error ?? "");
                await SaveAsync(before with { LastInstall = attempt, Progress = null }, cancellationToken);
                return;
            }
            switched = true;
            await ActivateAsync(WithAdded(runtime, wanted, modules) with
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

    /// <summary>The runtime with these requirements and preload modules added after its own, none twice.</summary>
    private static RuntimeRecord WithAdded(RuntimeRecord runtime, IReadOnlyList<string> wanted, IReadOnlyList<string> modules) => runtime with
    {
        Requirements = [.. runtime.Requirements, .. wanted.Where(w => !runtime.Requirements.Contains(w))],
        Preload = [.. runtime.Preload, .. modules.Where(m => !runtime.Preload.Contains(m))],
    };

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
            preloadErrors = await engine.WarmUpAsync(runtime.Name, cancellationToken);
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

    private void RemoveVenv(RuntimeRecord runtime)
    {
        if (runtime.VenvPath is { } venv)
        {
            RemoveFolder(venv);
        }
    }

    private void RemoveFolder(string venv)
    {
        // Only a folder Runbox made: never a path a record might point elsewhere.
        if (Path.GetDirectoryName(Path.GetFullPath(venv)) == Path.GetFullPath(RuntimesFolder) && Directory.Exists(venv))
        {
            try
            {
                Directory.Delete(venv, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.VenvNotRemoved(logger, venv, e.Message);
            }
        }
    }

    /// <summary>
    /// Removes an environment the runtime switched away from once no job that started before the switch runs: those
    /// jobs were forked from the old zygote and import from the old folder. A server stopped meanwhile leaves it to
    /// <see cref="RemoveLeftoverFolders"/> at the next start.
    /// </summary>
    private void Retire(string name, string venv, DateTimeOffset switchedAt)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                while (await AnyRunningSinceAsync(name, switchedAt, _stopping.Token))
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), time, _stopping.Token);
                }
                if ((await Runtimes.GetRuntimeAsync(name, _stopping.Token))?.VenvPath != venv)
                {
                    RemoveFolder(venv);
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.VenvNotRemoved(logger, venv, e.Message);
            }
        }, CancellationToken.None);
        _background[task] = true;
        _ = task.ContinueWith(t => _background.TryRemove(t, out _), TaskScheduler.Default);
    }

    private async Task<bool> AnyRunningSinceAsync(string name, DateTimeOffset switchedAt, CancellationToken cancellationToken)
    {
        var running = await store.ListJobsAsync(new JobQuery { Runtime = name, Status = JobStatus.Running, Limit = 200 }, cancellationToken);
        return running.Jobs.Any(j => j.StartedAt is not { } started || started <= switchedAt);
    }

    /// <summary>
    /// At start no zygote runs, so an environment folder no record points at goes: a copy an install was making when
    /// the server stopped, or the folder a runtime switched away from. A worker's own build (its marker file) stays.
    /// </summary>
    private void RemoveLeftoverFolders(IReadOnlyList<RuntimeRecord> runtimes)
    {
        if (!Directory.Exists(RuntimesFolder))
        {
            return;
        }
        foreach (var folder in Directory.EnumerateDirectories(RuntimesFolder))
        {
            var name = VenvCopies.RuntimeOf(folder);
            var owner = runtimes.FirstOrDefault(r => r.Name == name);
            var isCopy = name != Path.GetFileName(folder);
            var inUse = owner?.VenvPath is { } venv && Path.GetFullPath(venv) == Path.GetFullPath(folder);
            // A runtime's first folder is left unless its record has moved on to a copy (a folder of a deleted runtime
            // is the business of whoever creates that name again).
            var movedOn = owner is not null && VenvCopies.IsFolderOf(RuntimesFolder, name, owner.VenvPath);
            if (!inUse && (isCopy || movedOn) && !File.Exists(Path.Combine(folder, Worker.RuntimeSync.MarkerFile)))
            {
                RemoveFolder(folder);
            }
        }
    }

    private static string Last(string text, int chars) => text.Length <= chars ? text : "…" + text[^chars..];
}
