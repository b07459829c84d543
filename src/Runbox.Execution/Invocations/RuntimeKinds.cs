namespace Runbox.Execution.Invocations;

/// <summary>The <see cref="RuntimeInvocation.RuntimeKind"/> words of the built-in runners.</summary>
public static class RuntimeKinds
{
    public const string Subprocess = "subprocess";
    public const string Python = "python";
    public const string Manual = "manual";
    public const string Http = "http";
    public const string HttpAsync = "http_async";
}
