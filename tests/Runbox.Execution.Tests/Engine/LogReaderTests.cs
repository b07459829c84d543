using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Engine;

/// <summary>
/// <see cref="JobExecution.ReadLogsAsync"/> has one reader at a time; a second one is told so. With
/// <see cref="JobExecution.MaxUnreadLines"/> set, a reader that falls behind holds the job's output back rather than
/// letting lines pile up in memory, and loses none of it.
/// </summary>
public sealed class LogReaderTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    // One write per line: print() writes a line's text and its newline apart, and on a loaded machine the stream can go
    // quiet between the two long enough (JobOutput.QuietPiece) for the text to be published as a piece of its own.
    private const string Counting = "import sys, time\nsys.stdout.write('first\\n')\nfor i in range(5):\n    time.sleep(0.05)\n    sys.stdout.write(f'{i}\\n')";

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

    [Fact]
    public async Task MaxUnreadLines_HoldsTheJobsWrites_UntilItsLinesAreRead()
    {
        // 100,000 lines of 10 bytes: far more than the bound, one read (64 KiB) and the socket's buffer (about 200 KB) hold.
        var execution = await fixture.Engine.StartAsync(new JobRequest
        {
            Script = "import sys\nsys.stdout.write('123456789\\n' * 100_000)",
            Limits = new JobLimits { OutputBytes = 4 * 1024 * 1024 },
        });
        execution.MaxUnreadLines = 1000;

        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.False(execution.Completion.IsCompleted, "the job ended with its lines unread");
        var read = 0;
        await foreach (var _ in execution.ReadLogsAsync())
        {
            read++;
        }

        var result = await execution.Completion;
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal(100_000, read);
        Assert.Equal(1_000_000, result.Stdout.Length);
    }

    [Fact]
    public async Task MaxUnreadLines_KeepsEveryLine_WhenTheJobExitsWhileTheReaderIsBehind()
    {
        // 12,000 lines of 10 bytes: one read takes 64 KiB of them, the rest fits in the socket's buffer, so the job exits
        // while the engine holds back; what is left is read then, not cut off by the drain timeout.
        var execution = await fixture.Engine.StartAsync(new JobRequest { Script = "import sys\nsys.stdout.write('123456789\\n' * 12_000)" });
        execution.MaxUnreadLines = 1000;

        var result = await execution.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        var read = 0;
        await foreach (var _ in execution.ReadLogsAsync())
        {
            read++;
        }

        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal(12_000, read);
        Assert.Equal(120_000, result.Stdout.Length);
        Assert.False(result.StdoutTruncated);
    }
}
