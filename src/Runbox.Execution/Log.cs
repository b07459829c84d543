using Microsoft.Extensions.Logging;

namespace Runbox.Execution;

/// <summary>Every log message of the engine, with its event id, in one place.</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Warning, "Zygote of runtime {Runtime} wrote: {Line}")]
    public static partial void ZygoteStderr(ILogger logger, string runtime, string line);

    [LoggerMessage(1002, LogLevel.Warning, "Zygote of runtime {Runtime} warns: {Message}")]
    public static partial void ZygoteWarning(ILogger logger, string runtime, string message);

    [LoggerMessage(1003, LogLevel.Information, "Zygote of runtime {Runtime} ready: pid {Pid}, Python {Version}")]
    public static partial void ZygoteReady(ILogger logger, string runtime, int pid, string version);

    [LoggerMessage(1004, LogLevel.Error, "Zygote of runtime {Runtime} died: {Reason}; {Jobs} running job(s) end as error")]
    public static partial void ZygoteDied(ILogger logger, string runtime, string reason, int jobs);

    [LoggerMessage(1005, LogLevel.Warning, "Sandbox: {Message}")]
    public static partial void SandboxDegraded(ILogger logger, string message);

    [LoggerMessage(1006, LogLevel.Warning, "Could not remove {Path}: {Message}")]
    public static partial void CleanupFailed(ILogger logger, string path, string message);

    [LoggerMessage(1007, LogLevel.Error, "The cgroup of slot {Slot} still holds processes after its job ended and a kill")]
    public static partial void CgroupNotEmpty(ILogger logger, int slot);

    [LoggerMessage(1011, LogLevel.Warning, "Job {JobId}: {Count} files it left are not kept as artifacts: past the {MaxMb} MB in total or {MaxCount} files a job's artifacts may hold")]
    public static partial void ArtifactsSkipped(ILogger logger, string jobId, int count, long maxMb, int maxCount);

    [LoggerMessage(1012, LogLevel.Warning, "{Message}")]
    public static partial void InterpreterUnusable(ILogger logger, string message);

    [LoggerMessage(1010, LogLevel.Warning, "Zygote of runtime {Runtime}: an offered job process could not take a job ({Message}); trying another")]
    public static partial void OfferFailed(ILogger logger, string runtime, string message);
}
