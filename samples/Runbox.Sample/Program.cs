// A console program embedding Runbox: no server, no database, one call per invocation.
// Usage: dotnet run --project samples/Runbox.Sample [artifact-folder]
using Runbox.Execution.Invocations;
using Runbox.Execution.Jobs;

var root = args.Length > 0 ? Path.GetFullPath(args[0]) : Path.Combine(Path.GetTempPath(), "runbox-sample");
var work = Path.Combine(root, "work");
Directory.CreateDirectory(work);
File.WriteAllText(Path.Combine(work, "hello.py"), "import sys\nprint('hello from', sys.argv[1])\n");

// subprocess and python are registered from the start and run in Runbox's sandbox.
await using var runtime = new ExecutorRuntime();

// An in-process step, registered by the host under a kind of its own choosing.
runtime.Register(RuntimeKinds.Manual, new ManualRunner((invocation, context, cancellationToken) =>
{
    context.Log(LogStream.Stdout, $"checking {invocation.Metadata.GetValueOrDefault("target", "nothing")}");
    return Task.FromResult(RuntimeResult.FromExitCode(0));
}));

RuntimeInvocation[] invocations =
[
    new()
    {
        InvocationId = "sample-subprocess",
        RuntimeName = "default",
        RuntimeKind = RuntimeKinds.Subprocess,
        WorkingDirectory = work,
        Command = ["sh", "-c", "echo \"$GREETING\"; ls"],
        Environment = new() { ["GREETING"] = "hello from a sandboxed command" },
        TimeoutSeconds = 10,
        ArtifactDirectory = Path.Combine(root, "subprocess"),
        OutputResultPath = Path.Combine(root, "subprocess", "result.json"),
    },
    new()
    {
        InvocationId = "sample-python",
        RuntimeName = "default",
        RuntimeKind = RuntimeKinds.Python,
        WorkingDirectory = work,
        Command = ["hello.py", "the zygote"],
        TimeoutSeconds = 10,
        ArtifactDirectory = Path.Combine(root, "python"),
    },
    new()
    {
        InvocationId = "sample-manual",
        RuntimeName = "in-process",
        RuntimeKind = RuntimeKinds.Manual,
        Metadata = new() { ["target"] = "the sample" },
        // Without one the output would go to a folder under /tmp/runbox-invocations that nothing removes.
        ArtifactDirectory = Path.Combine(root, "manual"),
    },
];

var exitCode = 0;
foreach (var invocation in invocations)
{
    Console.WriteLine($"== {invocation.InvocationId} ({invocation.RuntimeKind})");
    var result = await runtime.RunAsync(invocation, onLogLine: line => Console.WriteLine($"   [{line.StreamName}] {line.Text}"));
    Console.WriteLine($"   -> {result.Status.ToWire()}, exit code {result.ExitCode?.ToString() ?? "none"}, stdout in {result.StdoutPath ?? "-"}");
    if (result.ErrorSummary is not null)
    {
        Console.WriteLine($"   {result.ErrorSummary}");
    }
    if (result.Status != RuntimeStatus.Succeeded)
    {
        exitCode = 1;
    }
}
return exitCode;
