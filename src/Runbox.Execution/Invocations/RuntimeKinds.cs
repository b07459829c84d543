namespace Runbox.Execution.Invocations;

/// <summary>The <see cref="RuntimeInvocation.RuntimeKind"/> words of the built-in runners.</summary>
public static class RuntimeKinds
{
    /// <summary>An argv run in the sandbox (<see cref="SubprocessRunner"/>), registered by default.</summary>
    public const string Subprocess = "subprocess";
    /// <summary>A Python script or module on the zygote's fast path (<see cref="PythonRunner"/>), registered by default.</summary>
    public const string Python = "python";
    /// <summary>The host's own code, in-process (<see cref="ManualRunner"/>).</summary>
    public const string Manual = "manual";
    /// <summary>One HTTP request (<see cref="HttpRunner"/>), not registered by default.</summary>
    public const string Http = "http";
    /// <summary>A remote run started and polled over HTTP (<see cref="HttpAsyncRunner"/>), not registered by default.</summary>
    public const string HttpAsync = "http_async";
}
