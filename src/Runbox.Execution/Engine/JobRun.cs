using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Runbox.Execution.Jobs;
using Runbox.Execution.Native;
using Runbox.Execution.Runtimes;
using Runbox.Execution.Sandbox;
using Runbox.Execution.Zygote;

namespace Runbox.Execution.Engine;

/// <summary>One job from its slot to its result: its folder, its spawn message, its output and its end.</summary>
internal sealed class JobRun
{
    private const int SIGXCPU = 24;
    private const int SIGXFSZ = 25;

    private readonly TaskCompletionSource<(int Pid, int[] Descriptors)> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<JsonElement> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly EngineOptions _options;
    private readonly Stopwatch _clock = new();
    private Dictionary<string, (long Size, DateTime Modified)> _inputs = [];
    private bool _ownsDirectory;
    private SlotDisks? _disk; // set when the job's folder is its slot's size-limited tmpfs
    private string _entryPath = "";
    private string? _scriptInCallersFolder; // the script text, written into the caller's folder under a name of ours
    private int _stopReason; // a StopReason, set once
    private string? _stdinError; // why StdinStream could not be read (StopReason.Stdin)
    private readonly CancellationTokenSource _stdinDone = new(); // the job ended: stop reading its StdinStream
    private CgroupUsage? _usage;
    private Task _reaped = Task.CompletedTask; // the status socket's reader, which ends once the job's processes are reaped
    private static readonly TimeSpan CpuPollInterval = TimeSpan.FromMilliseconds(100);

    private enum StopReason
    {
        None,
        Cancelled,
        WallTime,
        CpuTime,
        Output,
        Stdin,
    }

    public JobRun(string id, JobRequest request, JobExecution execution, int slot, EngineOptions options)
    {
        Id = id;
        Request = request;
        Execution = execution;
        Slot = slot;
        _options = options;
        Limits = Resolve(request.Limits, options.DefaultLimits);
    }

    /// <summary>
    /// The job's name in this engine: its folder's and its messages' with the zygote. The request's id, unless another
    /// job of that id was running (see JobEngine.StartAsync); the result carries the request's.
    /// </summary>
    public string Id { get; }

    public JobRequest Request { get; }

    public JobExecution Execution { get; }

    public int Slot { get; }

    public JobLimits Limits { get; }

    public string? Directory { get; private set; }

    /// <summary>The slot's cgroup, prepared for this job, or null where the host has none.</summary>
    /// <summary>The cgroup the job runs in, known once it started.</summary>
    public JobCgroup? Cgroup { get; private set; }

    public ZygoteProcess? Zygote { get; private set; }

    /// <summary>The engine's work for the job, from its slot until the slot is free again (JobEngine.RunAsync).</summary>
    public Task Running { get; set; } = Task.CompletedTask;

    /// <summary>Cancelled before its process started (a zygote that went away before that does not count as a start).</summary>
    public bool CancelledBeforeStart => Execution.CancelRequested.IsCancellationRequested && !_started.Task.IsCompletedSuccessfully;

    /// <summary>The zygote the job is about to go to, known before it goes (see JobEngine.OnZygoteDied).</summary>
    public void UseZygote(ZygoteProcess zygote) => Zygote = zygote;

    private DateTimeOffset StartedAt { get; set; }

    private static JobLimits Resolve(JobLimits asked, JobLimits defaults) => new()
    {
        Timeout = asked.Timeout ?? defaults.Timeout,
        CpuSeconds = asked.CpuSeconds ?? defaults.CpuSeconds,
        MemoryBytes = asked.MemoryBytes ?? defaults.MemoryBytes,
        Processes = asked.Processes ?? defaults.Processes,
        OutputBytes = asked.OutputBytes ?? defaults.OutputBytes,
        FileSizeBytes = asked.FileSizeBytes ?? defaults.FileSizeBytes,
        OpenFiles = asked.OpenFiles ?? defaults.OpenFiles,
        DiskBytes = asked.DiskBytes ?? defaults.DiskBytes,
    };

    public void PrepareDirectory(string jobsDirectory, SlotDisks? disks)
    {
        if (Request.WorkingDirectory is { } given)
        {
            // The caller's own host folder: mounting over it would hide what is there, so no disk limit.
            Directory = given;
            // What the caller put there beforehand is theirs, not the job's output.
            _inputs = JobFiles.Snapshot(given);
        }
        else if (disks is not null && Limits.DiskBytes is { } diskBytes)
        {
            _disk = disks;
            _ownsDirectory = true;
            Directory = disks.Prepare(Slot, Id, diskBytes);
        }
        else
        {
            Directory = Path.Combine(jobsDirectory, Id);
            System.IO.Directory.CreateDirectory(Directory);
            _ownsDirectory = true;
        }
        var files = new Dictionary<string, byte[]>(Request.Files ?? new Dictionary<string, byte[]>());
        var entry = Request.Entrypoint ?? Request.Language.DefaultEntrypoint();
        if (Request.Script is not null && !_ownsDirectory && Request.Entrypoint is null)
        {
            // The caller's folder may hold a main.py of its own: the script text goes in under a name of the engine's,
            // never over a file of theirs, and leaves with the job (Finish).
            entry = $".runbox-script-{Guid.NewGuid().ToString("N")[..12]}{Path.GetExtension(entry)}";
            _scriptInCallersFolder = Path.Combine(Directory, entry);
        }
        if (Request.Script is not null)
        {
            files[entry] = Encoding.UTF8.GetBytes(Request.Script);
        }
        foreach (var (name, stamp) in JobFiles.WriteInputs(Directory, files))
        {
            _inputs[name] = stamp;
        }
        _entryPath = Path.Combine(Directory, entry);
    }

    /// <summary>
    /// The zygote's "spawn" message for this job; also what a standby job process reads when the job goes to it
    /// straight, with the name of the cgroup it waits in (<paramref name="cgroup"/>; the zygote adds it otherwise).
    /// </summary>
    public byte[] BuildSpawn(RuntimeDefinition runtime, SandboxPlan plan, EngineOptions options, string? cgroup = null)
    {
        var (mode, argv) = Command(runtime, options);
        var env = JobEnvironment.For(Request, Request.Language == JobLanguage.Python ? runtime : null, Directory!);
        var uid = plan.UidFor(Slot);
        if (uid is { } owner)
        {
            // The folder (holding only the inputs yet) becomes the job's uid's here, not in the job process: there
            // each file touched costs page copies on the job's critical path.
            JobFiles.ChownTree(Directory!, (uint)owner, (uint)owner);
        }
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("op", "spawn");
            json.WriteString("id", Id);
            json.WriteString("mode", mode);
            json.WriteStartArray("argv");
            foreach (var arg in argv)
            {
                json.WriteStringValue(arg);
            }
            json.WriteEndArray();
            json.WriteString("cwd", Directory);
            json.WriteStartObject("env");
            foreach (var (key, value) in env)
            {
                json.WriteString(key, value);
            }
            json.WriteEndObject();
            // The host decides: a job's own "network: true" is ignored unless the engine allows network.
            json.WriteBoolean("network", Request.Network && options.AllowNetwork);
            if (cgroup is not null)
            {
                json.WriteString("cgroup_name", cgroup);
            }
            if (plan.Cgroups is { } cgroups)
            {
                // Written by the job into the fresh cgroup it joined while pooled, before its own code runs.
                CgroupLimit.WriteArray(json, "cgroup_limits", cgroups.Limits(Limits));
            }
            if (uid is { } u)
            {
                json.WriteNumber("uid", u);
                json.WriteNumber("gid", u);
            }
            json.WriteStartObject("rlimits");
            json.WriteNumber("core", 0);
            if (Limits.CpuSeconds is { } cpu)
            {
                json.WriteNumber("cpu", (long)Math.Ceiling(cpu));
            }
            if (Limits.FileSizeBytes is { } fsize)
            {
                json.WriteNumber("fsize", fsize);
            }
            if (Limits.OpenFiles is { } nofile)
            {
                json.WriteNumber("nofile", nofile);
            }
            // RLIMIT_NPROC counts every process of the uid: only meaningful when the job has a uid of its own. With a
            // pids cgroup it is only a backstop, and must not trip first, or the job's end is not named "processes".
            // The kernel counts a fork against RLIMIT_NPROC as it begins, but against pids.max only after copying
            // the parent's memory, milliseconds later for a Python process: in a fork bomb most processes are inside
            // fork at any moment, so the uid's count runs up to twice the cgroup's (once each process, once its fork
            // in flight). 8 above pids.max tripped first in about 1 bomb in 12.
            if (Limits.Processes is { } nproc && uid is not null)
            {
                json.WriteNumber("nproc", plan.Cgroups?.LimitsProcesses == true ? (2 * nproc) + 8 : nproc);
            }
            // Address space is a rough stand-in for memory where no cgroup measures it; V8 reserves far more than
            // it uses, so Node.js jobs go without.
            if (Limits.MemoryBytes is { } memory && plan.Cgroups?.LimitsMemory != true && Request.Language != JobLanguage.Node && Request.Command is null)
            {
                json.WriteNumber("as", memory + (256L * 1024 * 1024));
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private (string Mode, List<string> Argv) Command(RuntimeDefinition runtime, EngineOptions options)
    {
        if (Request.Command is { } command)
        {
            var program = InterpreterLocator.FindOnPath(command[0], JobEnvironment.For(Request, null, Directory!)["PATH"])
                ?? throw new InvalidOperationException($"command '{command[0]}' not found");
            return ("exec", [program, .. command.Skip(1)]);
        }
        return Request.Language switch
        {
            JobLanguage.Bash => ("exec", [options.BashPath, _entryPath, .. Request.Args]),
            JobLanguage.Node => ("exec", [options.NodePath ?? InterpreterLocator.FindOnPath("node") ?? throw new InvalidOperationException("Node.js is not installed on this host"), _entryPath, .. Request.Args]),
            // -B: no __pycache__ in the job's folder (see zygote.py's main), as on the fast path.
            _ when Request.Fresh || StartupVariables.AnyIn(Request.Environment) => ("exec", [runtime.PythonPath, "-u", "-B", _entryPath, .. Request.Args]),
            _ => ("script", [_entryPath, .. Request.Args]),
        };
    }

    public void OnStarted(int pid, JobCgroup? cgroup, int[] descriptors)
    {
        Cgroup = cgroup;
        // Timed from here, as the job goes, not from CompleteAsync's continuation: that runs on the thread pool after
        // a hop, and the first job after a start waited there for the JIT longer than it ran (wall_ms 0 for a
        // 42 ms job).
        StartedAt = DateTimeOffset.UtcNow;
        _clock.Start();
        _started.TrySetResult((pid, descriptors));
    }

    public void OnExited(JsonElement message) => _exited.TrySetResult(message);

    public void OnZygoteDied(string reason)
    {
        if (_started.Task.IsCompletedSuccessfully)
        {
            // The init's PID namespace (or its process group) dies with it.
            if (_started.Task.Result.Pid > 0)
            {
                Libc.Kill(_started.Task.Result.Pid, Libc.SIGKILL);
            }
        }
        _started.TrySetException(new InvalidOperationException(reason));
        using var document = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(
            new Dictionary<string, string> { ["error"] = reason }, ZygoteJson.Default.DictionaryStringString));
        _exited.TrySetResult(document.RootElement.Clone());
    }

    private void RequestStop(StopReason reason)
    {
        if (Interlocked.CompareExchange(ref _stopReason, (int)reason, (int)StopReason.None) == (int)StopReason.None || reason == StopReason.Cancelled)
        {
            Zygote?.Kill(Id);
        }
    }

    /// <summary>Waits for the job to start and end, feeding its stdin and reading its output, and builds its result.</summary>
    public async Task<JobResult> CompleteAsync(ZygoteProcess zygote)
    {
        Zygote = zygote;
        await using var cancel = Execution.CancelRequested.Register(() => RequestStop(StopReason.Cancelled));
        var first = await Task.WhenAny(_started.Task, _exited.Task);
        if (first == _exited.Task && !_started.Task.IsCompleted)
        {
            return FromExit(await _exited.Task, null);
        }
        var (_, descriptors) = await _started.Task;
        if (_stopReason != (int)StopReason.None)
        {
            zygote.Kill(Id);
        }
        var sockets = descriptors.Select(fd => new Socket(new SafeSocketHandle(fd, ownsHandle: true))).ToArray();
        // Stdin, stdout and stderr are closed here; the status socket (the fourth) by its reader, as it ends only once
        // the job's processes are all reaped.
        var stdio = sockets[..3];
        try
        {
            var output = new JobOutput(Execution, Limits.OutputBytes ?? long.MaxValue, () => RequestStop(StopReason.Output));
            if (sockets.Length > 3)
            {
                _reaped = ReadStatusAsync(sockets[3]);
            }
            _ = FeedStdinAsync(stdio[0]);
            var pumps = Task.WhenAll(output.PumpAsync(stdio[1], LogStream.Stdout), output.PumpAsync(stdio[2], LogStream.Stderr));
            using var wall = new Timer(_ => RequestStop(StopReason.WallTime), null, WallTimeLeft(), Timeout.InfiniteTimeSpan);
            using var cpuWatch = WatchCpu();
            var exit = await _exited.Task;
            _clock.Stop();
            Execution.Drain();
            // The init killed the job's processes before reporting, though the kernel may still be tearing them
            // down: the cgroup's counters already hold what the job did; that none is left is made sure before the
            // slot is reused (JobEngine.RunAsync).
            _usage = Cgroup?.Usage();
            try
            {
                // The init killed everything before reporting, so output ends now; an orphan out of its reach
                // must not hold the result back.
                await pumps.WaitAsync(_options.OutputDrain);
            }
            catch (TimeoutException)
            {
                foreach (var socket in stdio)
                {
                    socket.Dispose();
                }
                await pumps;
            }
            return FromExit(exit, output);
        }
        finally
        {
            _stdinDone.Cancel();
            foreach (var socket in stdio)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>
    /// Waits until the init has reaped every process of the job (it then closes the job's status socket), at most
    /// <paramref name="timeout"/>: the result may go out before that, the slot and its uid only after.
    /// </summary>
    public async Task WaitReapedAsync(TimeSpan timeout)
    {
        try
        {
            await _reaped.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            // The cgroup check that follows kills what is left.
        }
    }

    /// <summary>The wall limit less the time since the job went (see OnStarted).</summary>
    private TimeSpan WallTimeLeft() => Limits.Timeout is { } limit
        ? (limit > _clock.Elapsed ? limit - _clock.Elapsed : TimeSpan.Zero)
        : Timeout.InfiniteTimeSpan;

    /// <summary>RLIMIT_CPU is per process: a job spinning in many processes is caught by its cgroup's total.</summary>
    private Timer? WatchCpu()
    {
        if (Limits.CpuSeconds is not { } seconds || Cgroup?.CpuUsageNs() is null)
        {
            return null;
        }
        var limitNs = (long)(seconds * 1e9);
        return new Timer(_ =>
        {
            if (Cgroup.CpuUsageNs() >= limitNs)
            {
                RequestStop(StopReason.CpuTime);
            }
        }, null, CpuPollInterval, CpuPollInterval);
    }

    /// <summary>
    /// The init's report, straight from it: one line of JSON, then, once every process of the job is reaped, the end
    /// of the stream. An end with no report (the init died) leaves the word to the zygote, which then reports the
    /// job lost.
    /// </summary>
    private async Task ReadStatusAsync(Socket status)
    {
        using var _ = status;
        var buffer = new byte[4096];
        var length = 0;
        var reported = false;
        try
        {
            int read;
            while ((read = await status.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None)) > 0)
            {
                length += read;
                var end = reported ? -1 : Array.IndexOf(buffer, (byte)'\n', 0, length);
                if (end >= 0)
                {
                    reported = true;
                    OnReport(buffer.AsSpan(0, end));
                }
                if (reported || length == buffer.Length)
                {
                    length = 0; // nothing more is expected but the end
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The init is gone: whatever it did not report, the zygote does.
        }
    }

    private void OnReport(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line);
            using var document = JsonDocument.ParseValue(ref reader);
            OnExited(document.RootElement.Clone());
        }
        catch (JsonException)
        {
            // Not a report; the zygote's word decides.
        }
    }

    private async Task FeedStdinAsync(Socket stdin)
    {
        try
        {
            if (Request.Stdin is { Length: > 0 } data)
            {
                await stdin.SendAsync(data, SocketFlags.None);
            }
            else if (Request.StdinStream is { } stream && !await CopyStdinAsync(stream, stdin))
            {
                return;
            }
            stdin.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The job exited without reading all of its stdin.
        }
    }

    /// <summary>
    /// Sends the caller's stream to the job's stdin a buffer at a time, each once the job has taken the last (the
    /// socket's buffer bounds what waits). False when the stream failed: the job is stopped, as error, rather than
    /// left to see an end of input that is not the input's.
    /// </summary>
    private async Task<bool> CopyStdinAsync(Stream stream, Socket stdin)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, _stdinDone.Token);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Once the job has ended (or the read was given up because it had), the rest was not needed.
                if (!_stdinDone.IsCancellationRequested && !_exited.Task.IsCompleted)
                {
                    _stdinError = $"the job's stdin stream could not be read: {e.GetType().Name}: {e.Message}";
                    RequestStop(StopReason.Stdin);
                }
                return false;
            }
            if (read == 0)
            {
                return true;
            }
            await stdin.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
        }
    }

    private JobResult FromExit(JsonElement exit, JobOutput? output)
    {
        var finished = DateTimeOffset.UtcNow;
        var reason = (StopReason)_stopReason;
        int? exitCode = null, signal = null;
        string? error = exit.TryGetProperty("error", out var e) ? e.GetString() : null;
        if (exit.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Number)
        {
            var status = s.GetInt32();
            if ((status & 0x7f) == 0)
            {
                exitCode = (status >> 8) & 0xff;
            }
            else
            {
                signal = status & 0x7f;
            }
        }
        long Micro(string name) => exit.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;
        var usage = _usage;
        // The cgroup also counts orphans the init killed, and memory the kernel charged (page cache, tmpfs).
        var cpuUserMs = usage?.CpuUserNs is { } userNs ? userNs / 1_000_000 : Micro("utime_us") / 1000;
        var cpuSystemMs = usage?.CpuSystemNs is { } systemNs ? systemNs / 1_000_000 : Micro("stime_us") / 1000;
        var peakMemory = usage?.PeakMemoryBytes ?? Micro("maxrss_kb") * 1024;
        var failed = exitCode is not (null or 0) || signal is not null;
        var limit = LimitKind.None;
        JobStatus jobStatus;
        if (reason == StopReason.Cancelled)
        {
            jobStatus = JobStatus.Cancelled;
        }
        else if (reason == StopReason.Stdin)
        {
            jobStatus = JobStatus.Error;
            error = _stdinError;
        }
        else if (reason == StopReason.WallTime)
        {
            (jobStatus, limit) = (JobStatus.TimedOut, LimitKind.WallTime);
        }
        else if (reason == StopReason.CpuTime)
        {
            (jobStatus, limit) = (JobStatus.TimedOut, LimitKind.CpuTime);
        }
        else if (reason == StopReason.Output || output?.LimitHit == true)
        {
            (jobStatus, limit) = (JobStatus.Failed, LimitKind.Output);
        }
        else if (usage?.OomKilled == true)
        {
            // Named from the kernel's OOM-kill count, not guessed from a SIGKILL: whichever process it chose.
            (jobStatus, limit) = (JobStatus.Failed, LimitKind.Memory);
        }
        else if (failed && usage?.PeakMemoryBytes > Limits.MemoryBytes)
        {
            // The kernel keeps a cgroup's use within its limit, so more than the limit means it could not be set: it
            // was below what the job's process held as it started, and the job never ran (its stderr says so).
            (jobStatus, limit) = (JobStatus.Failed, LimitKind.Memory);
        }
        else if (signal == SIGXCPU || (signal == Libc.SIGKILL && Limits.CpuSeconds is { } cpu && cpuUserMs + cpuSystemMs >= cpu * 1000))
        {
            (jobStatus, limit) = (JobStatus.TimedOut, LimitKind.CpuTime);
        }
        else if (signal == SIGXFSZ || (exitCode is not (null or 0) && FileSizeLimitReached()))
        {
            (jobStatus, limit) = (JobStatus.Failed, LimitKind.FileSize);
        }
        else if (failed && _disk?.IsFull(Slot) == true)
        {
            // ENOSPC in the job's folder: the job may report it however it likes, so the folder itself says it.
            (jobStatus, limit) = (JobStatus.Failed, LimitKind.Disk);
        }
        else if (usage?.ProcessLimitHit == true && failed)
        {
            (jobStatus, limit) = (JobStatus.Failed, LimitKind.Processes);
        }
        else if (exitCode is null && signal is null)
        {
            jobStatus = JobStatus.Error;
            error ??= "the job ended without an exit status";
        }
        else
        {
            jobStatus = exitCode == 0 ? JobStatus.Succeeded : JobStatus.Failed;
        }
        return new JobResult
        {
            Id = Request.Id,
            Status = jobStatus,
            ExitCode = exitCode,
            Signal = signal,
            LimitExceeded = limit,
            Stdout = output?.Stdout ?? [],
            Stderr = output?.Stderr ?? [],
            StdoutTruncated = output?.StdoutTruncated ?? false,
            StderrTruncated = output?.StderrTruncated ?? false,
            // The init's own timing, from the job's start to its end, where it has one: this clock starts when the engine
            // hears of the start and stops when it hears of the end, both late under load (0 for a 60 ms job).
            WallMs = Micro("wall_us") is > 0 and var wallUs ? wallUs / 1000 : _clock.ElapsedMilliseconds,
            CpuUserMs = cpuUserMs,
            CpuSystemMs = cpuSystemMs,
            PeakMemoryBytes = peakMemory,
            StartedAt = StartedAt == default ? finished : StartedAt,
            FinishedAt = finished,
            Error = jobStatus == JobStatus.Error ? error : null,
        };
    }

    /// <summary>A Python job sees EFBIG rather than SIGXFSZ; a file at the limit says which limit it met.</summary>
    private bool FileSizeLimitReached()
    {
        if (Limits.FileSizeBytes is not { } limit || Directory is null)
        {
            return false;
        }
        try
        {
            return new DirectoryInfo(Directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
                .Take(10_000).Any(f => f.Length >= limit);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Collects artifacts; runs on every path, errors included. A caller's own folder is handed back to this process's
    /// user here, before the result goes out; a folder of the engine's is removed after it (see RemoveFolder).
    /// </summary>
    public JobResult Finish(JobResult result)
    {
        if (Directory is null)
        {
            return result;
        }
        try
        {
            if (Request.ArtifactDirectory is not null)
            {
                System.IO.Directory.CreateDirectory(Request.ArtifactDirectory);
            }
            // Copying a folder onto itself would truncate every file: list in place instead.
            // A full path: the artifacts' paths in the result are made from it, and they must not depend on the host's
            // current directory staying what it was.
            var destination = Request.ArtifactDirectory is not { } target || JobFiles.SameDirectory(target, Directory) ? null : Path.GetFullPath(target);
            var artifacts = JobFiles.Collect(Directory, _inputs, destination, _options.MaxArtifactBytes, _options.MaxArtifactCount, out var skipped);
            if (_ownsDirectory && Request.ArtifactDirectory is null)
            {
                // Listed, but the folder goes away with the job: paths would point at nothing.
                artifacts = artifacts.Select(a => a with { Path = "" }).ToList();
            }
            return result with { Artifacts = artifacts, ArtifactsSkipped = skipped };
        }
        finally
        {
            if (_scriptInCallersFolder is not null)
            {
                File.Delete(_scriptInCallersFolder);
            }
            if (!_ownsDirectory)
            {
                // The job ran as a slot uid that owned the caller's folder meanwhile; hand it all back.
                JobFiles.ChownTree(Directory, Libc.GetEffectiveUserId(), Libc.GetEffectiveGroupId());
            }
        }
    }

    /// <summary>Removes the engine's folder for the job (or empties its slot's disk), after the result went out.</summary>
    public void RemoveFolder()
    {
        if (_disk is not null)
        {
            // The slot's tmpfs stays mounted for its next job, empty; its space is the host's memory.
            _disk.Clear(Slot);
        }
        else if (_ownsDirectory && Directory is not null)
        {
            JobFiles.Remove(Directory);
        }
    }

    public static JobResult Failure(string id, string message)
    {
        var now = DateTimeOffset.UtcNow;
        return new JobResult { Id = id, Status = JobStatus.Error, Error = message, StartedAt = now, FinishedAt = now };
    }

    public static JobResult Cancelled(string id)
    {
        var now = DateTimeOffset.UtcNow;
        return new JobResult { Id = id, Status = JobStatus.Cancelled, StartedAt = now, FinishedAt = now };
    }
}
