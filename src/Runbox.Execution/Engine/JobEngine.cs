using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Runbox.Execution.Jobs;
using Runbox.Execution.Native;
using Runbox.Execution.Runtimes;
using Runbox.Execution.Sandbox;
using Runbox.Execution.Zygote;

namespace Runbox.Execution.Engine;

/// <summary>The engine: one zygote per runtime, forking a sandboxed child per job, a slot per running job.</summary>
public sealed class JobEngine : IJobEngine
{
    private readonly ILogger _logger;
    private readonly Channel<int> _freeSlots;
    private readonly ConcurrentDictionary<string, RuntimeDefinition> _runtimes = new();
    private readonly ConcurrentDictionary<string, Task<ZygoteProcess>> _zygotes = new();
    private readonly ConcurrentDictionary<string, JobRun> _runs = new(); // the jobs that may have processes, by name
    private readonly ConcurrentDictionary<string, JobRun> _active = new(); // the jobs holding a slot, by name
    private readonly Lock _zygoteLock = new();
    private readonly Lock _startLock = new(); // a job takes its place among the active ones, or sees the disposal: never both
    private readonly string _instanceDirectory;
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _instanceLock; // held for the engine's life: it is alive
    private readonly string _jobsDirectory;
    private readonly string _runDirectory;
    private readonly SandboxPlan _plan;

    /// <summary>Its uids and cgroups, for tests that check a job left nothing behind.</summary>
    internal SandboxPlan Plan => _plan;
    private readonly CancellationTokenSource _disposing = new();
    private readonly List<string> _interpreterWarnings; // said at start, kept in the capabilities' warnings
    private volatile SandboxCapabilities _capabilities;
    private int _jobCounter;
    private int _waiting; // StartAsync calls waiting for a slot
    private int _disposed;

    /// <summary>Detects the sandbox this host allows (see <see cref="Capabilities"/>) and makes the engine's folder under <see cref="EngineOptions.WorkRoot"/>; zygotes start on first use. Throws <see cref="ArgumentException"/> for bad options, and <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> naming the work root when it cannot be used.</summary>
    public JobEngine(EngineOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        Options = options ?? new EngineOptions();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<JobEngine>();
        if (EngineOptionsValidation.Problems(Options) is { Count: > 0 } problems)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }
        // A relative root would be resolved again by each job's interpreter from its own folder (a Python job failed
        // with its main.py not found), so it is fixed here, against the host's current directory, once.
        Options = Options with { WorkRoot = Path.GetFullPath(Options.WorkRoot) };
        _freeSlots = Channel.CreateBounded<int>(Options.Slots);
        for (var slot = 0; slot < Options.Slots; slot++)
        {
            _freeSlots.Writer.TryWrite(slot);
        }
        foreach (var runtime in Options.Runtimes)
        {
            _runtimes[runtime.Name] = runtime;
        }
        try
        {
            Directory.CreateDirectory(Options.WorkRoot);
            EngineDirectories.RemoveLeftovers(Options.WorkRoot, _logger);
            (_instanceDirectory, _instanceLock) = EngineDirectories.CreateInstance(Options.WorkRoot);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The default root is shared by every user of the host: the first one to use it owns it. The type stays,
            // for hosts that already catch it (runbox serve says "cannot start").
            var message = $"EngineOptions.WorkRoot '{Options.WorkRoot}' cannot be used: {e.Message} Give a folder this user may create and write.";
            throw e is IOException ? new IOException(message, e) : new UnauthorizedAccessException(message, e);
        }
        _jobsDirectory = Path.Combine(_instanceDirectory, "jobs");
        _runDirectory = Path.Combine(_instanceDirectory, "run");
        _plan = SandboxPlan.Detect(Options, _runDirectory, Path.Combine(_instanceDirectory, "disks"), Path.GetFileName(_instanceDirectory), _logger);
        _interpreterWarnings = [.. JobInterpreters.Warnings(Options)];
        foreach (var warning in _interpreterWarnings)
        {
            Log.InterpreterUnusable(_logger, warning);
        }
        _capabilities = CapabilitiesFor(namespaces: null);
    }

    /// <summary>
    /// Removes what engines that died under <paramref name="workRoot"/> left behind (their folders, and their slot
    /// disks, which stay mounted when an engine is killed). An engine does this itself when it starts on that root; this
    /// is for a root no engine will start on again. A running engine's folder is left alone.
    /// </summary>
    public static void RemoveLeftovers(string workRoot, ILogger? logger = null)
    {
        if (Directory.Exists(workRoot))
        {
            EngineDirectories.RemoveLeftovers(workRoot, logger ?? NullLogger.Instance);
        }
    }

    /// <summary>The options it was made with, its <see cref="EngineOptions.WorkRoot"/> made a full path.</summary>
    public EngineOptions Options { get; }

    /// <inheritdoc/>
    public SandboxCapabilities Capabilities => _capabilities;

    /// <inheritdoc/>
    public int FreeSlots => _freeSlots.Reader.Count;

    /// <inheritdoc/>
    public int RunningJobs => _active.Count;

    /// <inheritdoc/>
    public int WaitingJobs => Volatile.Read(ref _waiting);

    /// <inheritdoc/>
    public void SetRuntime(RuntimeDefinition runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentException.ThrowIfNullOrEmpty(runtime.Name);
        ArgumentException.ThrowIfNullOrEmpty(runtime.PythonPath);
        if (EngineOptionsValidation.RuntimeProblem(runtime) is { } problem)
        {
            throw new ArgumentException(problem, nameof(runtime));
        }
        _runtimes[runtime.Name] = runtime;
        // Jobs running on the old zygote finish there; new jobs get a zygote with the new interpreter and preloads.
        _ = StopZygoteAsync(runtime.Name, killRunning: false);
    }

    /// <inheritdoc/>
    public async Task RemoveRuntimeAsync(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        _runtimes.TryRemove(name, out _);
        await StopZygoteAsync(name, killRunning: true);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyDictionary<string, string>> WarmUpAsync(string runtime, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runtime);
        var (_, ready) = await GetZygoteAsync(runtime, cancellationToken);
        return ready.PreloadErrors;
    }

    /// <inheritdoc/>
    public async Task<JobExecution> StartAsync(JobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var id = string.IsNullOrEmpty(request.Id) ? $"job-{Environment.ProcessId}-{Interlocked.Increment(ref _jobCounter)}" : request.Id;
        var execution = new JobExecution(id);
        var invalid = JobValidation.Validate(request, request.Runtime is { } runtime && (_runtimes.ContainsKey(runtime) || runtime == "default"))
            ?? (request.Command is null ? JobInterpreters.Problem(request.Language, Options) : null)
            // Run offline instead, and the job failed in ways that named nothing (a DNS error, a refused connection).
            ?? (request.Network && !Options.AllowNetwork ? NetworkNotAllowed : null);
        if (invalid is not null)
        {
            execution.Complete(JobRun.Failure(id, invalid));
            return execution;
        }
        int slot;
        Interlocked.Increment(ref _waiting);
        try
        {
            slot = await _freeSlots.Reader.ReadAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
        lock (_startLock)
        {
            if (_disposed != 0)
            {
                // It waited for a slot while the engine was being disposed: the slot came free as the engine stopped.
                _freeSlots.Writer.TryWrite(slot);
                execution.Complete(JobRun.Cancelled(id) with { Error = DisposedBeforeStart });
                return execution;
            }
            // The name is the job's folder and its word with the zygote: two jobs running under one id (a caller
            // reusing its ids) would share both, and one could hang. The second gets the id with a number.
            var name = id;
            var run = new JobRun(name, request with { Id = id }, execution, slot, Options);
            while (!_active.TryAdd(name, run))
            {
                name = $"{id}-{Interlocked.Increment(ref _jobCounter)}";
                run = new JobRun(name, request with { Id = id }, execution, slot, Options);
            }
            // Known from here on, so a disposal that begins now cancels it and waits for it, wherever it is.
            _runs[run.Id] = run;
            run.Running = Task.Run(() => RunAsync(run), CancellationToken.None);
        }
        return execution;
    }

    private const string NetworkNotAllowed = "the job asks for network, which this engine does not allow (EngineOptions.AllowNetwork is off)";

    private const string DisposedBeforeStart = "the engine was disposed before the job started";

    private async Task RunAsync(JobRun run)
    {
        JobResult result;
        ZygoteProcess? zygote = null;
        try
        {
            var runtime = RuntimeFor(run.Request);
            run.PrepareDirectory(_jobsDirectory, _plan.Disks);
            (zygote, _) = await GetZygoteAsync(runtime.Name, run.Execution.CancelRequested);
            // Before it goes: a zygote that dies or is stopped from now on reports the job (OnZygoteDied, StopZygoteAsync).
            run.UseZygote(zygote);
            run.Execution.CancelRequested.ThrowIfCancellationRequested();
            if (!TryStartOffered(run, zygote, runtime)
                && !zygote.Spawn(run.Id, run.Directory!, run.Request.Network && Options.AllowNetwork, run.BuildSpawn(runtime, _plan, Options)))
            {
                throw new InvalidOperationException("the runtime's zygote is not running");
            }
            result = await run.CompleteAsync(zygote);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            result = run.CancelledBeforeStart
                ? JobRun.Cancelled(run.Request.Id) with { Error = _disposed != 0 ? DisposedBeforeStart : null }
                : JobRun.Failure(run.Request.Id, e.Message);
        }
        finally
        {
            _runs.TryRemove(run.Id, out _);
        }
        try
        {
            result = run.Finish(result);
            if (result.ArtifactsSkipped > 0)
            {
                Log.ArtifactsSkipped(_logger, run.Id, result.ArtifactsSkipped, Options.MaxArtifactBytes >> 20, Options.MaxArtifactCount);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Any exception: one escaping here (an ArgumentException from a path) left the job without a result and
            // its slot taken for good.
            Log.CleanupFailed(_logger, run.Directory ?? run.Id, e.Message);
            // The job ran, but what it left is not where the caller will look: say so rather than list nothing.
            result = result with { Error = result.Error ?? $"the artifacts could not be collected: {e.Message}" };
        }
        // The result goes out as soon as it is known: a job that said it ended may still be exiting (freeing its
        // memory takes the kernel a millisecond or two), and its caller need not wait for that.
        run.Execution.Complete(result);
        try
        {
            run.RemoveFolder();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.CleanupFailed(_logger, run.Directory ?? run.Id, e.Message);
        }
        try
        {
            // Every path, errors included: nothing of the job may outlive it, on its slot's uid, when the slot is
            // reused; its cgroup goes in the background (removing a cgroup waits on the kernel).
            await run.WaitReapedAsync(TimeSpan.FromSeconds(2));
            if (run.Cgroup is { } cgroup)
            {
                if (!cgroup.Empty(TimeSpan.FromSeconds(2)))
                {
                    Log.CgroupNotEmpty(_logger, run.Slot);
                }
                RemoveInBackground(cgroup);
            }
        }
        finally
        {
            _active.TryRemove(run.Id, out _);
            _freeSlots.Writer.TryWrite(run.Slot);
        }
    }

    /// <summary>How long a job's cgroup may take to go once its job ended before the engine gives up on it and says so.</summary>
    private static readonly TimeSpan CgroupRemovalPatience = TimeSpan.FromMinutes(5);

    /// <summary>Removes a job's cgroup off the job's path; one the kernel will not let go of in time is logged, not lost silently.</summary>
    private void RemoveInBackground(JobCgroup cgroup) => _ = Task.Run(async () =>
    {
        if (!await cgroup.RemoveAsync(CgroupRemovalPatience))
        {
            Log.CleanupFailed(_logger, cgroup.Location, $"the cgroup still held processes or could not be removed after {CgroupRemovalPatience.TotalMinutes} minutes");
        }
    });

    /// <summary>
    /// Starts the job on an init the zygote offered (see <see cref="ZygoteOffer"/>): the job goes straight to its
    /// standby, and the zygote hears of it after. False when no live init is on offer, or the job has a network
    /// (networked inits are made on demand): then the zygote is asked to spawn it.
    /// </summary>
    private bool TryStartOffered(JobRun run, ZygoteProcess zygote, RuntimeDefinition runtime)
    {
        if (run.Request.Network && Options.AllowNetwork)
        {
            return false;
        }
        while (zygote.TakeOffer() is { } offer)
        {
            var folder = -1;
            string? cgroup;
            try
            {
                folder = offer.Folder ? Libc.OpenTree(run.Directory!) : -1;
                cgroup = offer.Cgroup is { } pooled && _plan.Cgroups is { } cgroups ? cgroups.Claim(pooled) : null;
            }
            catch (IOException e)
            {
                // The job's side failed, not the init: it goes back, to be retired.
                if (folder >= 0)
                {
                    Libc.Close(folder);
                }
                zygote.Drop(offer);
                throw new InvalidOperationException($"could not start the job: {e.Message}");
            }
            int[] descriptors;
            try
            {
                descriptors = offer.Send(run.BuildSpawn(runtime, _plan, Options, cgroup), folder);
            }
            catch (IOException e)
            {
                // The init died since its offer (its job socket is closed): the next offer, or the zygote, then.
                Log.OfferFailed(_logger, zygote.Runtime, e.Message);
                if (cgroup is not null)
                {
                    RemoveInBackground(_plan.Cgroups!.Open(cgroup));
                }
                continue;
            }
            finally
            {
                if (folder >= 0)
                {
                    Libc.Close(folder);
                }
            }
            // Said after the job went, so an init that died before is simply skipped. The zygote reads a "took"
            // before the report of the init it names (see hear_engine in zygote.py).
            zygote.Took(offer, run.Id);
            run.OnStarted(offer.Pid, cgroup is null ? null : _plan.Cgroups!.Open(cgroup), descriptors);
            return true;
        }
        return false;
    }

    private RuntimeDefinition RuntimeFor(JobRequest request)
    {
        if (_runtimes.TryGetValue(request.Runtime, out var runtime))
        {
            return runtime;
        }
        if (request.Runtime == "default")
        {
            return _runtimes.GetOrAdd("default", _ => new RuntimeDefinition { Name = "default", PythonPath = InterpreterLocator.ResolvePython() });
        }
        throw new InvalidOperationException($"unknown runtime '{request.Runtime}'");
    }

    private async Task<(ZygoteProcess Zygote, ZygoteReady Ready)> GetZygoteAsync(string name, CancellationToken cancellationToken)
    {
        var runtime = _runtimes.TryGetValue(name, out var known) ? known
            : name == "default" ? RuntimeFor(new JobRequest()) : throw new InvalidOperationException($"unknown runtime '{name}'");
        Task<ZygoteProcess> task;
        lock (_zygoteLock)
        {
            // A zygote started now would outlive the engine: disposal stops only the zygotes it finds.
            ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
            if (!_zygotes.TryGetValue(name, out task!) || (task.IsCompleted && (!task.IsCompletedSuccessfully || !task.Result.IsAlive)))
            {
                task = StartZygoteAsync(runtime);
                _zygotes[name] = task;
            }
        }
        var zygote = await task.WaitAsync(cancellationToken);
        return (zygote, await zygote.Ready.WaitAsync(cancellationToken));
    }

    private async Task<ZygoteProcess> StartZygoteAsync(RuntimeDefinition runtime)
    {
        Directory.CreateDirectory(_runDirectory);
        var script = ZygoteScript.WriteTo(_runDirectory);
        var socket = ControlSocketPath();
        var callbacks = new ZygoteProcess.Callbacks(OnJobStarted, OnJobExited, OnZygoteDied);
        var zygote = await ZygoteProcess.CreateAsync(runtime.Name, runtime.PythonPath, script, socket,
            control => _plan.ZygoteConfig(control, runtime, Options), JobEnvironment.Base(runtime), callbacks, _logger, _disposing.Token);
        ZygoteReady ready;
        try
        {
            ready = await zygote.WaitReadyAsync(_disposing.Token);
        }
        catch (OperationCanceledException)
        {
            // The engine is being disposed: the zygote that was starting goes with it.
            await zygote.DisposeAsync();
            throw;
        }
        _capabilities = CapabilitiesFor(ready.Namespaces);
        Log.ZygoteReady(_logger, runtime.Name, ready.Pid, ready.PythonVersion);
        return zygote;
    }

    /// <summary>The sandbox in force (see <see cref="SandboxPlan.Capabilities"/>), with what keeps a language from running.</summary>
    private SandboxCapabilities CapabilitiesFor(IReadOnlyDictionary<string, string>? namespaces)
    {
        var capabilities = _plan.Capabilities(namespaces);
        return _interpreterWarnings.Count == 0 ? capabilities : capabilities with { Warnings = [.. capabilities.Warnings, .. _interpreterWarnings] };
    }

    /// <summary>
    /// Where the zygote connects back. Unix socket paths hold at most 107 bytes, so a deep work root falls back
    /// to a private (0700) folder in /tmp.
    /// </summary>
    private string ControlSocketPath()
    {
        var name = $"z-{Guid.NewGuid():N}"[..10] + ".sock";
        var path = Path.Combine(_runDirectory, name);
        if (System.Text.Encoding.UTF8.GetByteCount(path) <= 100)
        {
            return path;
        }
        var directory = Directory.CreateTempSubdirectory("runbox-").FullName;
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return Path.Combine(directory, name);
    }

    /// <summary>The process id of a runtime's zygote, starting it if needed (tests kill it to test restarts).</summary>
    internal async Task<int> ZygotePidAsync(string runtime) => (await GetZygoteAsync(runtime, CancellationToken.None)).Zygote.Pid;

    internal async Task<int> OffersAsync(string runtime) => (await GetZygoteAsync(runtime, CancellationToken.None)).Zygote.Offers;

    /// <summary>
    /// Takes the runtime's zygote out of use. Its running jobs are only reachable through it (kill goes over its control
    /// channel, and their exit is reported on it): they are cancelled first (<paramref name="killRunning"/>), or left
    /// to finish with the zygote stopped after the last one.
    /// </summary>
    private async Task StopZygoteAsync(string name, bool killRunning = true)
    {
        Task<ZygoteProcess>? task;
        lock (_zygoteLock)
        {
            _zygotes.TryRemove(name, out task);
        }
        if (task is null)
        {
            return;
        }
        try
        {
            // One still starting is stopped once started (or once its start fails): else no one would stop it.
            await task.WaitAsync(TimeSpan.FromSeconds(65));
        }
        catch (Exception)
        {
            return;
        }
        var zygote = task.Result;
        var running = _runs.Values.Where(r => r.Zygote == zygote).ToList();
        if (running.Count > 0 && !killRunning)
        {
            _ = Task.WhenAll(running.Select(r => r.Execution.Completion)).ContinueWith(_ => DisposeZygoteAsync(zygote), TaskScheduler.Default).Unwrap();
            return;
        }
        foreach (var run in running)
        {
            run.Execution.Cancel();
        }
        await Task.WhenAny(Task.WhenAll(running.Select(r => r.Execution.Completion)), Task.Delay(TimeSpan.FromSeconds(5)));
        await DisposeZygoteAsync(zygote);
        // A deliberate stop reports no death: any job still waiting hears it here rather than never.
        foreach (var run in running.Where(r => !r.Execution.Completion.IsCompleted))
        {
            run.OnZygoteDied("the runtime was removed while the job ran");
        }
    }

    /// <summary>Stops the zygote, then removes the cgroups its inits can no longer remove (see <see cref="Cgroups.RemoveZygoteCgroups"/>).</summary>
    private async Task DisposeZygoteAsync(ZygoteProcess zygote)
    {
        var pid = zygote.Pid;
        await zygote.DisposeAsync();
        await RemoveZygoteCgroupsAsync(pid);
    }

    private Task RemoveZygoteCgroupsAsync(int zygotePid) =>
        _plan.Cgroups is { } cgroups ? Task.Run(() => cgroups.RemoveZygoteCgroups(zygotePid)) : Task.CompletedTask;

    private void OnJobStarted(string id, int pid, string? cgroup, int[] descriptors)
    {
        if (_runs.TryGetValue(id, out var run))
        {
            run.OnStarted(pid, cgroup is null ? null : _plan.Cgroups?.Open(cgroup), descriptors);
        }
        else
        {
            foreach (var fd in descriptors)
            {
                Libc.Close(fd);
            }
        }
    }

    private void OnJobExited(string id, JsonElement message)
    {
        if (_runs.TryGetValue(id, out var run))
        {
            run.OnExited(message);
        }
    }

    private void OnZygoteDied(ZygoteProcess zygote, string reason)
    {
        var lost = _runs.Values.Where(r => r.Zygote == zygote).ToList();
        Log.ZygoteDied(_logger, zygote.Runtime, reason, lost.Count);
        foreach (var run in lost)
        {
            run.OnZygoteDied($"the runtime's zygote exited while the job ran ({reason})");
        }
        lock (_zygoteLock)
        {
            if (_zygotes.TryGetValue(zygote.Runtime, out var task) && task.IsCompletedSuccessfully && task.Result == zygote)
            {
                _zygotes.TryRemove(zygote.Runtime, out _);
            }
        }
        // Its inits end as their channel to it closes; what of them is still there goes once they are gone.
        _ = RemoveZygoteCgroupsAsync(zygote.Pid);
    }

    /// <summary>
    /// Cancels the running jobs (waiting up to 5 s for them to end), stops every zygote and removes the engine's folder
    /// under the work root. Jobs still waiting for a slot end cancelled; <see cref="StartAsync"/> throws
    /// <see cref="ObjectDisposedException"/> from the start of disposal on.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        List<JobRun> active;
        lock (_startLock)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }
            // Every job holding a slot, also one that is still writing its folder or waiting for its zygote.
            active = [.. _active.Values];
        }
        foreach (var run in active)
        {
            run.Execution.Cancel();
        }
        await Task.WhenAny(Task.WhenAll(active.Select(r => r.Execution.Completion)), Task.Delay(TimeSpan.FromSeconds(5)));
        _disposing.Cancel();
        foreach (var name in _zygotes.Keys.ToList())
        {
            await StopZygoteAsync(name);
        }
        // A job that had not reached its zygote when that was stopped hears it here rather than never.
        foreach (var run in active.Where(r => !r.Execution.Completion.IsCompleted))
        {
            run.OnZygoteDied("the engine was disposed while the job ran");
        }
        // Their folders, cgroups and slot disks are cleaned by themselves, before the engine's go.
        await Task.WhenAny(Task.WhenAll(active.Select(r => r.Running)), Task.Delay(TimeSpan.FromSeconds(10)));
        _plan.Cgroups?.Dispose();
        _plan.Dispose();
        EngineDirectories.RemoveInstance(_instanceDirectory, _logger);
        EngineDirectories.DeleteLock(_instanceDirectory, _logger);
        _instanceLock.Dispose();
        _disposing.Dispose();
    }
}
