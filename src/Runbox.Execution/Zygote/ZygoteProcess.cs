using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Runbox.Execution.Native;

namespace Runbox.Execution.Zygote;

/// <summary>What the zygote reported when it became ready.</summary>
internal sealed record ZygoteReady(int Pid, string PythonVersion, string Executable,
    IReadOnlyDictionary<string, string> PreloadErrors, IReadOnlyDictionary<string, string> Namespaces, int Threads);

/// <summary>
/// One running zygote: the Python process, its control socket and the thread that reads it. Events are handed
/// to the callbacks; the engine maps job ids to runs.
/// </summary>
internal sealed class ZygoteProcess : IAsyncDisposable
{
    private readonly Socket _control;
    private readonly Process _process;
    private readonly ILogger _logger;
    private readonly Thread _reader;
    private readonly Lock _sendLock = new();
    private readonly TaskCompletionSource<ZygoteReady> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<ZygoteOffer> _offers = []; // the most recently offered last: its pages are the warmest
    private volatile bool _disposed;

    /// <summary>Callbacks from the reader thread: a job started (id, init pid, cgroup name, stdin/stdout/stderr and the status socket), ended, or the zygote died.</summary>
    internal sealed record Callbacks(Action<string, int, string?, int[]> OnStarted, Action<string, JsonElement> OnExited, Action<ZygoteProcess, string> OnDied);

    private readonly Callbacks _callbacks;

    public string Runtime { get; }

    public Task Exited => _exited.Task;

    /// <summary>What the zygote said when ready; faults if it died first.</summary>
    public Task<ZygoteReady> Ready => _ready.Task;

    /// <summary>Waits until the zygote has preloaded its modules and says ready (at most 60 s).</summary>
    public async Task<ZygoteReady> WaitReadyAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            return await _ready.Task.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await DisposeAsync();
            throw new InvalidOperationException($"The zygote of runtime '{Runtime}' did not become ready within 60 s.");
        }
    }

    private ZygoteProcess(string runtime, Socket control, Process process, ILogger logger, Callbacks callbacks)
    {
        _callbacks = callbacks;
        Runtime = runtime;
        _control = control;
        _process = process;
        _logger = logger;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"zygote-{runtime}" };
    }

    /// <summary>Creates the listener, starts the process and accepts its connection.</summary>
    public static async Task<ZygoteProcess> CreateAsync(string runtime, string pythonPath, string scriptPath, string socketPath,
        Func<string, string> configFor, IReadOnlyDictionary<string, string> environment, Callbacks callbacks, ILogger logger,
        CancellationToken cancellationToken)
    {
        File.Delete(socketPath);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(1);
        var start = new ProcessStartInfo(pythonPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(ZygoteScript.Bootstrap);
        start.ArgumentList.Add(scriptPath);
        start.ArgumentList.Add(configFor(socketPath));
        // The zygote and every job it forks start from a clean environment: the server's secrets never pass.
        start.Environment.Clear();
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {pythonPath}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            // Process.Start's message names the host's current directory, not the runtime whose definition is wrong.
            var why = Engine.JobInterpreters.Unusable(pythonPath) ?? $"cannot be run ({e.Message})";
            throw new InvalidOperationException($"The zygote of runtime '{runtime}' cannot start: its PythonPath '{pythonPath}' {why}.", e);
        }
        process.StandardInput.Close();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        Socket control;
        try
        {
            var accept = listener.AcceptAsync(timeout.Token).AsTask();
            var exited = process.WaitForExitAsync(timeout.Token);
            var finished = await Task.WhenAny(accept, exited);
            if (finished != accept)
            {
                // Cancelled (the 60 s, or the engine's disposal) rather than exited: its stderr is still open, and
                // reading it to the end would wait as long as the process runs.
                await exited;
                var stderr = (await process.StandardError.ReadToEndAsync(CancellationToken.None)).Trim();
                // An interpreter ended at start by its environment (a .pth file calling os._exit) prints nothing: the
                // exit code is then all there is to say why.
                throw new InvalidOperationException($"The zygote of runtime '{runtime}' exited before connecting: " +
                    (stderr.Length > 0 ? stderr : $"its Python ended with exit code {process.ExitCode} at start, printing nothing."));
            }
            control = await accept;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"The zygote of runtime '{runtime}' did not connect within 60 s.");
        }
        catch (OperationCanceledException)
        {
            // The engine is being disposed: a zygote left starting would run on with no one to stop it.
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
        finally
        {
            File.Delete(socketPath);
            if (Path.GetFileName(Path.GetDirectoryName(socketPath))?.StartsWith("runbox-", StringComparison.Ordinal) == true)
            {
                Directory.Delete(Path.GetDirectoryName(socketPath)!);
            }
        }
        control.Blocking = true;
        return new ZygoteProcess(runtime, control, process, logger, callbacks).WithStderrPump();
    }

    private ZygoteProcess WithStderrPump()
    {
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                Log.ZygoteStderr(_logger, Runtime, line);
            }
        };
        _process.BeginErrorReadLine();
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _reader.Start();
        return this;
    }


    public int Pid => _process.Id;

    public bool IsAlive => !_disposed && !_exited.Task.IsCompleted;

    /// <summary>Sends one message. False when the zygote is gone.</summary>
    public bool Send(ReadOnlySpan<byte> message)
    {
        lock (_sendLock)
        {
            try
            {
                _control.Send(message);
                return true;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Asks the zygote to start a job on an init of its own. The message names only the job, its folder and whether
    /// it has a network; its <paramref name="spec"/> (environment, arguments: a caller's secrets) goes as a memfd the
    /// zygote hands on unread to the job's standby, so no spec ever enters the memory that later inits are forked
    /// from. False when the zygote is gone.
    /// </summary>
    public bool Spawn(string jobId, string folder, bool network, ReadOnlySpan<byte> spec)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("op", "spawn");
            json.WriteString("id", jobId);
            json.WriteString("cwd", folder);
            json.WriteBoolean("network", network);
            json.WriteEndObject();
        }
        var fd = Libc.MemoryFile("runbox-spec", spec);
        try
        {
            lock (_sendLock)
            {
                // Held while in use, so a disposal meanwhile cannot close the socket and let its number name another.
                var handle = _control.SafeHandle;
                var held = false;
                try
                {
                    handle.DangerousAddRef(ref held);
                    Libc.SendWithDescriptors((int)handle.DangerousGetHandle(), buffer.GetBuffer().AsSpan(0, (int)buffer.Length), [fd]);
                    return true;
                }
                finally
                {
                    if (held)
                    {
                        handle.DangerousRelease();
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>How many ready inits the engine holds.</summary>
    public int Offers
    {
        get
        {
            lock (_offers)
            {
                return _offers.Count;
            }
        }
    }

    /// <summary>A ready init to send a job to straight (see <see cref="ZygoteOffer"/>), or null: then "spawn".</summary>
    public ZygoteOffer? TakeOffer()
    {
        lock (_offers)
        {
            if (_offers.Count == 0 || _disposed)
            {
                return null;
            }
            var offer = _offers[^1];
            _offers.RemoveAt(_offers.Count - 1);
            return offer;
        }
    }

    /// <summary>
    /// Tells the zygote the offered init runs job <paramref name="jobId"/>, right after the job went to it, so the zygote
    /// knows the job (to kill it, or to report it lost if the init dies; see took and hear_engine in zygote.py).
    /// False when the zygote is gone.
    /// </summary>
    public bool Took(ZygoteOffer offer, string jobId) => Send(JsonSerializer.SerializeToUtf8Bytes(
        new ZygoteTook("took", jobId, offer.Reference, offer.Seq), ZygoteJson.Default.ZygoteTook));

    /// <summary>Gives an offer back unused: the zygote retires its init.</summary>
    public void Drop(ZygoteOffer offer)
    {
        offer.Close();
        Send(JsonSerializer.SerializeToUtf8Bytes(new ZygoteDrop("drop", offer.Reference, offer.Seq), ZygoteJson.Default.ZygoteDrop));
    }

    private void OnOffer(JsonElement message, List<int> descriptors)
    {
        var offer = new ZygoteOffer(
            message.GetProperty("init").GetInt32(),
            message.GetProperty("seq").GetInt32(),
            message.TryGetProperty("pid", out var p) && p.ValueKind == JsonValueKind.Number ? p.GetInt32() : 0,
            message.TryGetProperty("cgroup", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null,
            message.TryGetProperty("folder", out var f) && f.ValueKind == JsonValueKind.True,
            [.. descriptors]);
        lock (_offers)
        {
            if (!_disposed)
            {
                _offers.Add(offer);
                return;
            }
        }
        offer.Close();
    }

    private void OnWithdrawn(int reference)
    {
        ZygoteOffer? withdrawn;
        lock (_offers)
        {
            withdrawn = _offers.Find(o => o.Reference == reference);
            if (withdrawn is not null)
            {
                _offers.Remove(withdrawn);
            }
        }
        withdrawn?.Close();
    }

    private void CloseOffers()
    {
        List<ZygoteOffer> offers;
        lock (_offers)
        {
            offers = [.. _offers];
            _offers.Clear();
        }
        foreach (var offer in offers)
        {
            offer.Close();
        }
    }

    public bool Kill(string jobId) => Send(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["op"] = "kill", ["id"] = jobId }, ZygoteJson.Default.DictionaryStringString));

    private void ReadLoop()
    {
        var buffer = new byte[1 << 20];
        var descriptors = new List<int>(3);
        var reason = "the zygote closed its control channel";
        try
        {
            var fd = (int)_control.SafeHandle.DangerousGetHandle();
            while (true)
            {
                descriptors.Clear();
                var count = Libc.ReceiveWithDescriptors(fd, buffer, descriptors);
                if (count == 0)
                {
                    break;
                }
                Dispatch(buffer.AsSpan(0, count), descriptors);
            }
        }
        catch (Exception e)
        {
            reason = $"the zygote's control channel failed: {e.Message}";
        }
        // Disposal waits for this thread before disposing the process; the catch is for anything else racing it.
        try
        {
            if (!_process.WaitForExit(2000))
            {
                reason += " (still running; killed)";
                _process.Kill(entireProcessTree: true);
            }
            else if (!_disposed)
            {
                reason += $" (exit status {_process.ExitCode})";
            }
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
        }
        CloseOffers();
        _ready.TrySetException(new InvalidOperationException($"Runtime '{Runtime}': {reason}."));
        _exited.TrySetResult();
        if (!_disposed)
        {
            _callbacks.OnDied(this, reason);
        }
    }

    private void Dispatch(ReadOnlySpan<byte> data, List<int> descriptors)
    {
        using var document = JsonDocument.Parse(data.ToArray());
        var message = document.RootElement;
        var type = message.GetProperty("t").GetString();
        switch (type)
        {
            case "ready":
                _ready.TrySetResult(ParseReady(message));
                break;
            case "started":
                var cgroup = message.TryGetProperty("cgroup", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null;
                var pid = message.TryGetProperty("pid", out var p) && p.ValueKind == JsonValueKind.Number ? p.GetInt32() : 0;
                _callbacks.OnStarted(message.GetProperty("id").GetString()!, pid, cgroup, [.. descriptors]);
                return;
            case "offer":
                OnOffer(message, descriptors);
                return;
            case "withdrawn":
                OnWithdrawn(message.GetProperty("init").GetInt32());
                break;
            case "exited":
                _callbacks.OnExited(message.GetProperty("id").GetString()!, message.Clone());
                break;
            case "warning":
                Log.ZygoteWarning(_logger, Runtime, message.GetProperty("message").GetString() ?? "");
                break;
        }
        foreach (var fd in descriptors)
        {
            Libc.Close(fd);
        }
    }

    private static ZygoteReady ParseReady(JsonElement message)
    {
        static Dictionary<string, string> Map(JsonElement element)
        {
            var map = new Dictionary<string, string>();
            if (element.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in element.EnumerateObject())
                {
                    map[property.Name] = property.Value.GetString() ?? "";
                }
            }
            return map;
        }
        return new ZygoteReady(
            message.GetProperty("pid").GetInt32(),
            message.GetProperty("python").GetString() ?? "",
            message.GetProperty("executable").GetString() ?? "",
            Map(message.GetProperty("preload_errors")),
            Map(message.GetProperty("namespaces")),
            message.GetProperty("threads").GetInt32());
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        CloseOffers();
        Send("{\"op\":\"exit\"}"u8);
        try
        {
            _control.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        if (!await WaitForExitAsync(TimeSpan.FromSeconds(2)))
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
            await WaitForExitAsync(TimeSpan.FromSeconds(2));
        }
        _control.Dispose();
        // The reader thread still touches the process after the channel closes: let it finish first.
        if (_reader.IsAlive && Thread.CurrentThread != _reader)
        {
            _reader.Join(TimeSpan.FromSeconds(5));
        }
        _process.Dispose();
    }

    private async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
