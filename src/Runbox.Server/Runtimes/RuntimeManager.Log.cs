namespace Runbox.Server.Runtimes;

public sealed partial class RuntimeManager
{
    /// <summary>Event ids 1300-1399: runtimes.</summary>
    private static partial class Log
    {
        [LoggerMessage(1300, LogLevel.Information, "Runtime {Name}: creating a virtual environment from {Interpreter} at {Venv}")]
        public static partial void RuntimeBuilding(ILogger logger, string name, string interpreter, string venv);

        [LoggerMessage(1301, LogLevel.Information, "Runtime {Name} is ready: {Packages} packages, {PreloadErrors} preload failures")]
        public static partial void RuntimeReady(ILogger logger, string name, int packages, int preloadErrors);

        [LoggerMessage(1302, LogLevel.Information, "Runtime {Name} is operational (smoke test job {JobId})")]
        public static partial void RuntimeOperational(ILogger logger, string name, string jobId);

        [LoggerMessage(1303, LogLevel.Warning, "Runtime {Name} failed: {Error}")]
        public static partial void RuntimeFailed(ILogger logger, string name, string error);

        [LoggerMessage(1304, LogLevel.Information, "Runtime {Name} deleted ({Cancelled} jobs cancelled)")]
        public static partial void RuntimeDeleted(ILogger logger, string name, int cancelled);

        [LoggerMessage(1305, LogLevel.Error, "Runtime {Name}: building failed inside Runbox")]
        public static partial void RuntimeFault(ILogger logger, string name, Exception exception);

        [LoggerMessage(1306, LogLevel.Warning, "Could not remove the virtual environment {Venv}: {Reason}")]
        public static partial void VenvNotRemoved(ILogger logger, string venv, string reason);

        [LoggerMessage(1307, LogLevel.Debug, "Runtime {Name}: progress not saved: {Reason}")]
        public static partial void ProgressNotSaved(ILogger logger, string name, string reason);

        [LoggerMessage(1308, LogLevel.Warning, "Runtime {Name}: installing {Packages} failed; it keeps what it had: {Error}")]
        public static partial void InstallFailed(ILogger logger, string name, string packages, string error);

        [LoggerMessage(1309, LogLevel.Warning, "Stopped installer process {Pid}, left running by a server that was killed during an install")]
        public static partial void LeftoverToolStopped(ILogger logger, int pid);
    }
}
