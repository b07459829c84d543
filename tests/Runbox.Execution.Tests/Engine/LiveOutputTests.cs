using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using Runbox.Execution.Tests.Invocations;

namespace Runbox.Execution.Tests.Engine;

/// <summary>How a job's output is cut into live lines: lines left unfinished, and lines too long to wait for.</summary>
public sealed class LiveOutputTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static JobRequest Python(string script) => new()
    {
        Script = script,
        Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(20) },
    };

    private async Task<List<(LogLine Line, bool Done)>> ReadAllAsync(JobRequest request)
    {
        var execution = await fixture.Engine.StartAsync(request);
        var lines = new List<(LogLine Line, bool Done)>();
        await foreach (var line in execution.ReadLogsAsync())
        {
            lines.Add((line, execution.Completion.IsCompleted));
        }
        await execution.Completion;
        return lines;
    }

    /// <summary>What a client that joins pieces shows: a newline only after lines the job ended.</summary>
    private static string Joined(IEnumerable<LogLine> lines) => string.Concat(lines.Select(line => line.Text + (line.Ended ? "\n" : "")));

    [Fact]
    public async Task UnfinishedLine_ShowsLiveOnceItsStreamIsQuiet_AndWhatFollowsContinuesIt()
    {
        // Progress dots: each printed without a newline, then the job waits until the test has seen that dot (a file the
        // test makes in the job's folder), so how late a loaded machine runs the quiet timer cannot merge two dots.
        using var folder = new TempDirectory();
        var request = Python(
            "import os, time\n" +
            "def seen(i):\n    while not os.path.exists(f'seen{i}'): time.sleep(0.01)\n" +
            "for i in range(3):\n    print('.', end='', flush=True)\n    seen(i)\n" +
            "print(' done')") with { WorkingDirectory = folder.Path };
        var execution = await fixture.Engine.StartAsync(request);
        var stdout = new List<(LogLine Line, bool Done)>();
        await foreach (var line in execution.ReadLogsAsync())
        {
            if (line.Stream != LogStream.Stdout)
            {
                continue;
            }
            stdout.Add((line, execution.Completion.IsCompleted));
            if (!line.Ended)
            {
                File.WriteAllText(folder.Combine($"seen{stdout.Count - 1}"), "");
            }
        }
        var result = await execution.Completion;

        // Without pieces the job never sees a file and ends at its 20 s timeout with one line.
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal([".", ".", ".", " done"], stdout.Select(l => l.Line.Text));
        Assert.Equal([false, false, false, true], stdout.Select(l => l.Line.Ended));
        Assert.False(stdout[0].Done, "the first dot must show while the job runs");
        Assert.Equal("... done\n", Joined(stdout.Select(l => l.Line)));
    }

    [Fact]
    public async Task LongLine_IsCutBetweenCharacters_SoItsPiecesJoinBackToTheText()
    {
        // The 64 KiB cut falls after the first byte of the first '€' (3 bytes in UTF-8).
        var text = new string('a', JobOutput.MaxLineBytes - 1) + new string('€', 10);
        var lines = await ReadAllAsync(Python($"print('a' * {JobOutput.MaxLineBytes - 1} + '€' * 10)"));

        var stdout = lines.Select(l => l.Line).Where(l => l.Stream == LogStream.Stdout).ToList();
        Assert.True(stdout.Count >= 2, $"expected the line in pieces, got {stdout.Count}");
        Assert.All(stdout, line => Assert.DoesNotContain('\uFFFD', line.Text));
        Assert.Equal(text + "\n", Joined(stdout));
    }

    [Fact]
    public async Task LineOfMegabytes_ComesInPiecesOfAtMost64KiB_EvenItsEnd()
    {
        // Written in one call, the line arrives in reads of up to 64 KiB: one added to a line already near the cap made
        // a piece of up to 128 KiB (74-126 KB seen), and its last read with the newline an ended line as long.
        var lines = await ReadAllAsync(Python("import sys\nsys.stdout.write('y' * 3_000_000 + '\\n')\nprint('after')")
            with { Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(20), OutputBytes = 4_000_000 } });

        var stdout = lines.Select(l => l.Line).Where(l => l.Stream == LogStream.Stdout).ToList();
        Assert.All(stdout, line => Assert.True(Encoding.UTF8.GetByteCount(line.Text) <= JobOutput.MaxLineBytes,
            $"line {line.Seq} (ended: {line.Ended}) has {Encoding.UTF8.GetByteCount(line.Text)} bytes"));
        Assert.Equal(new string('y', 3_000_000) + "\nafter\n", Joined(stdout));
    }

    [Theory]
    [InlineData(new byte[] { 0x61, 0x62 }, 2)]
    [InlineData(new byte[] { 0x61, 0xE2 }, 1)]
    [InlineData(new byte[] { 0x61, 0xE2, 0x82 }, 1)]
    [InlineData(new byte[] { 0x61, 0xE2, 0x82, 0xAC }, 4)]
    [InlineData(new byte[] { 0x61, 0xF0, 0x9F, 0x98 }, 1)]
    [InlineData(new byte[] { 0xF0, 0x9F, 0x98, 0x80 }, 4)]
    [InlineData(new byte[] { 0x61, 0xFF }, 2)]
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80 }, 4)]
    public void WholeCharacters_HoldsBackOnlyACharacterStillMissingBytes(byte[] bytes, int expected) =>
        Assert.Equal(expected, JobOutput.WholeCharacters(bytes));
}
