using System.Text;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Invocations;

/// <summary>
/// What a runner gets besides the invocation: where to put output, the live-line callback, and a place for
/// metadata that survives even when the run ends by timeout or cancellation.
/// </summary>
public sealed class RunnerContext
{
    private readonly Action<LogLine>? _onLogLine;
    private readonly Lock _lock = new();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private long _seq;
    private bool _stdoutWritten;

    internal RunnerContext(string outputDirectory, TimeSpan? timeout, TimeProvider timeProvider, Action<LogLine>? onLogLine)
    {
        OutputDirectory = outputDirectory;
        Timeout = timeout;
        TimeProvider = timeProvider;
        _onLogLine = onLogLine;
        StartedAt = timeProvider.GetUtcNow();
    }

    /// <summary>The invocation's artifact directory, or a fresh temporary one; it exists.</summary>
    public string OutputDirectory { get; }

    /// <summary><c>stdout.log</c> in <see cref="OutputDirectory"/>.</summary>
    public string StdoutPath => Path.Combine(OutputDirectory, "stdout.log");

    /// <summary><c>stderr.log</c> in <see cref="OutputDirectory"/>.</summary>
    public string StderrPath => Path.Combine(OutputDirectory, "stderr.log");

    /// <summary>The invocation's time limit; the cancellation token given to the runner fires when it passes.</summary>
    public TimeSpan? Timeout { get; }

    /// <summary>The runtime's clock (a fake one in tests).</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>When <see cref="ExecutorRuntime.RunAsync"/> began the invocation.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Merged into the result on every path, so what was learnt before a timeout (a run id) is not lost.</summary>
    public Dictionary<string, string> Metadata { get; } = [];

    /// <summary>Why the live-line callback was dropped, when it threw.</summary>
    internal string? CallbackError { get; private set; }

    /// <summary>
    /// Reports text live, one callback per line, and keeps it for the result's stdout or stderr file. Runners that
    /// keep the exact bytes themselves (the engine runners) use <see cref="Report"/> instead.
    /// </summary>
    public void Log(LogStream stream, string text)
    {
        lock (_lock)
        {
            var kept = stream == LogStream.Stdout ? _stdout : _stderr;
            kept.Append(text);
            // Each call is at least one line, so the next call's text does not run on from this one's.
            if (text.Length > 0 && !text.EndsWith('\n'))
            {
                kept.Append('\n');
            }
        }
        if (text.Length == 0)
        {
            return;
        }
        foreach (var line in text.TrimEnd('\n').Split('\n'))
        {
            Report(stream, line.TrimEnd('\r'));
        }
    }

    /// <summary>
    /// Reports one line live without keeping it; <paramref name="ended"/> false where no newline ended it, and
    /// <paramref name="bytes"/> its exact bytes where its text lost them (<see cref="LogLine.Bytes"/>).
    /// </summary>
    public void Report(LogStream stream, string line, bool ended = true, byte[]? bytes = null)
    {
        Action<LogLine>? callback;
        long seq;
        lock (_lock)
        {
            callback = CallbackError is null ? _onLogLine : null;
            seq = ++_seq;
        }
        if (callback is null)
        {
            return;
        }
        try
        {
            callback(new LogLine(seq, TimeProvider.GetUtcNow(), stream, line) { Ended = ended, Bytes = bytes });
        }
        catch (Exception ex)
        {
            // A broken observer must not break the run it observes; the result says it was dropped.
            lock (_lock)
            {
                CallbackError ??= $"The live-line callback threw and was no longer called: {ex.Message}";
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="bytes"/> the whole stdout file, exactly (an HTTP body), and reports it live line by line.
    /// Whatever went through <see cref="Log"/> to stdout is not written then.
    /// </summary>
    internal async Task WriteStdoutAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _stdoutWritten = true;
        }
        await File.WriteAllBytesAsync(StdoutPath, bytes, cancellationToken);
        var text = Encoding.UTF8.GetString(bytes);
        if (text.Length > 0)
        {
            var lines = text.TrimEnd('\n').Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                // The body's last line is unfinished unless the body ends with a newline.
                Report(LogStream.Stdout, lines[i].TrimEnd('\r'), ended: i < lines.Length - 1 || text.EndsWith('\n'));
            }
        }
    }

    /// <summary>Writes what went through <see cref="Log"/> to the stdout and stderr files the runner did not write itself.</summary>
    internal async Task WriteCapturedAsync(bool stdoutFile, bool stderrFile, CancellationToken cancellationToken)
    {
        string stdout;
        string stderr;
        bool stdoutWritten;
        lock (_lock)
        {
            stdout = _stdout.ToString();
            stderr = _stderr.ToString();
            stdoutWritten = _stdoutWritten;
        }
        if (stdoutFile && !stdoutWritten)
        {
            await File.WriteAllTextAsync(StdoutPath, stdout, cancellationToken);
        }
        if (stderrFile)
        {
            await File.WriteAllTextAsync(StderrPath, stderr, cancellationToken);
        }
    }
}
