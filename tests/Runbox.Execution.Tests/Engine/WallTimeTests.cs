using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Engine;

/// <summary>
/// A job's wall time is what it took, timed by its init: the engine hears of a job's start and end late (after a hop
/// to the thread pool, the JIT of a first job, a busy machine), and once showed wall_ms 0 for a 60 ms job.
/// </summary>
public sealed class WallTimeTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "runbox-tests", Guid.NewGuid().ToString("N")[..12]);
    private JobEngine _engine = null!;

    public Task InitializeAsync()
    {
        // A new engine: the first jobs after a start are the ones the engine heard of latest.
        _engine = new JobEngine(new EngineOptions { WorkRoot = _root, Slots = 2, PoolSize = 1 });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData(JobLanguage.Bash, "sleep 0.06", false)]
    [InlineData(JobLanguage.Python, "import time\ntime.sleep(0.06)", false)]
    [InlineData(JobLanguage.Python, "import time\ntime.sleep(0.06)", true)]
    public async Task WallMs_IsAtLeastWhatTheJobSlept(JobLanguage language, string script, bool fresh)
    {
        for (var i = 0; i < 8; i++)
        {
            var result = await _engine.RunAsync(new JobRequest { Language = language, Script = script, Fresh = fresh });
            Assert.Equal(JobStatus.Succeeded, result.Status);
            Assert.True(result.WallMs is >= 60 and < 10_000, $"job {i}: wall_ms {result.WallMs} for a job that slept 60 ms");
        }
    }
}
