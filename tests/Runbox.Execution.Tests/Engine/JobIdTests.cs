using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Engine;

/// <summary>
/// A caller's <see cref="JobRequest.Id"/>: it names the job's folder, so it must be a plain name, and a caller that
/// reuses ids (an embedder's own, such as "build-42") must get each job's own result.
/// </summary>
public sealed class JobIdTests : IAsyncLifetime
{
    private readonly WorkRootFolder _root = new();
    private JobEngine _engine = null!;

    public Task InitializeAsync()
    {
        // Offers off: every job goes through the zygote, which names jobs by their id in its messages.
        _engine = new JobEngine(new EngineOptions { WorkRoot = _root.Path, Slots = 3, OfferInits = false });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        _root.Dispose();
    }

    [Theory]
    [InlineData("../../escape")]
    [InlineData("a/b")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("job\n2")]
    [InlineData("with space")]
    public async Task StartAsync_RejectsAnIdThatIsNotAPlainName(string id)
    {
        var result = await _engine.RunAsync(new JobRequest { Id = id, Script = "print(1)" });

        Assert.Equal(JobStatus.Error, result.Status);
        Assert.StartsWith($"id '{id}' must be 1 to 128 letters, digits, '.', '_' or '-'", result.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root.Path, "escape", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task StartAsync_RejectsAnIdTooLongForAFolderName()
    {
        var result = await _engine.RunAsync(new JobRequest { Id = new string('x', 129), Script = "print(1)" });

        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Contains("must be 1 to 128", result.Error);
    }

    [Fact]
    public async Task RunAsync_GivesEachJobItsOwnResult_WhenJobsShareAnId()
    {
        var runs = Enumerable.Range(0, 3).Select(i => _engine.RunAsync(new JobRequest
        {
            Id = "build-42",
            Script = $"import time\ntime.sleep({0.9 - (0.3 * i)})\nprint({i})",
            Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(15) },
        })).ToList();

        var results = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(30));

        for (var i = 0; i < results.Length; i++)
        {
            Assert.True(results[i].Status == JobStatus.Succeeded, $"job {i}: {results[i].Status} {results[i].Error}");
            Assert.Equal($"{i}\n", Encoding.UTF8.GetString(results[i].Stdout));
            Assert.Equal("build-42", results[i].Id);
        }
    }

    [Fact]
    public async Task RunAsync_RunsAgainUnderTheSameId_OneAfterAnother()
    {
        for (var i = 0; i < 3; i++)
        {
            var result = await _engine.RunAsync(new JobRequest { Id = "again", Script = $"print({i})" });

            Assert.Equal(JobStatus.Succeeded, result.Status);
            Assert.Equal($"{i}\n", Encoding.UTF8.GetString(result.Stdout));
        }
    }
}
