using Runbox.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Runbox.Server.Tests.Worker;

/// <summary>What an idle server does: its worker polls the store, and that must cost no more than the poll.</summary>
public sealed class IdleServerTests(ITestOutputHelper output)
{
    // Marks the exceptions thrown by this test's server: the handler sees every thread of the process, and other test
    // classes run beside this one. The server's hosted services start within StartAsync and so carry the mark.
    private static readonly AsyncLocal<bool> ThisServer = new();

    [Fact]
    public async Task IdleServer_ThrowsNoExceptions_WhileItsWorkerPolls()
    {
        var thrown = new List<string>();
        void Count(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e)
        {
            if (ThisServer.Value)
            {
                lock (thrown)
                {
                    thrown.Add($"{e.Exception.GetType().Name}: {e.Exception.Message}");
                }
            }
        }

        ThisServer.Value = true;
        await using var server = await RunningServer.StartAsync(output, new Dictionary<string, string?> { ["Runbox:PollSeconds"] = "0.2" });
        ThisServer.Value = false;
        // Past the start's own work (the default runtime's first zygote, its smoke test), then idle: each of the two
        // worker slots polls five times a second.
        await Task.Delay(TimeSpan.FromSeconds(2));
        AppDomain.CurrentDomain.FirstChanceException += Count;
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Count;
        }

        lock (thrown)
        {
            output.WriteLine(string.Join("\n", thrown));
            Assert.Empty(thrown);
        }
    }
}
