using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Engine;

/// <summary><see cref="JobExecution.ReadLogsAsync"/> has one reader at a time; a second one is told so.</summary>
public sealed class LogReaderTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private const string Counting = "import time\nprint('first', flush=True)\nfor i in range(5):\n    time.sleep(0.05)\n    print(i, flush=True)";

    [Fact]
    public async Task ReadLogsAsync_Throws_WhenASecondReaderStartsWhileTheFirstReads()
    {
        var execution = await fixture.Engine.StartAsync(new JobRequest { Script = Counting });
        var lines = new List<string>();
        await foreach (var line in execution.ReadLogsAsync())
        {
            lines.Add(line.Text);
            if (lines.Count == 1)
            {
                var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
                {
                    await foreach (var _ in execution.ReadLogsAsync())
                    {
                    }
                });
                Assert.Contains("ReadLogsAsync has one reader at a time", error.Message);
            }
        }

        Assert.Equal(["first", "0", "1", "2", "3", "4"], lines);
        Assert.Equal(JobStatus.Succeeded, (await execution.Completion).Status);
    }

    [Fact]
    public async Task ReadLogsAsync_GoesOnWhereItStopped_WhenReadAgain()
    {
        var execution = await fixture.Engine.StartAsync(new JobRequest { Script = Counting });
        var lines = new List<string>();
        await foreach (var line in execution.ReadLogsAsync())
        {
            lines.Add(line.Text);
            break;
        }
        await foreach (var line in execution.ReadLogsAsync())
        {
            lines.Add(line.Text);
        }

        Assert.Equal(["first", "0", "1", "2", "3", "4"], lines);
    }
}
