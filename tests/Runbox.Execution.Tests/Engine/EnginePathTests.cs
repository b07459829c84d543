using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Engine;

/// <summary>
/// Paths as an embedder writes them: a relative one is the usual first try (<c>WorkRoot = "work"</c>), and it must
/// mean a folder under the current directory, for every job and in every result; a deep one must work as well.
/// </summary>
public sealed class EnginePathTests : IDisposable
{
    private readonly WorkRootFolder _root = new();

    public void Dispose() => _root.Dispose();

    [SkippableTheory]
    [InlineData(JobLanguage.Python, false, "print('ran')")]
    [InlineData(JobLanguage.Python, true, "print('ran')")]
    [InlineData(JobLanguage.Bash, false, "echo ran")]
    [InlineData(JobLanguage.Node, false, "console.log('ran')")]
    public async Task ARelativeWorkRoot_IsTakenFromTheCurrentDirectory_AndJobsRun(JobLanguage language, bool fresh, string script)
    {
        if (language == JobLanguage.Node)
        {
            Requires.Node();
        }
        // Relative to the test's current directory, which the test leaves as it is (other tests run beside it).
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, _root.Path);
        Assert.False(Path.IsPathRooted(relative));

        await using (var engine = new JobEngine(new EngineOptions { WorkRoot = relative }))
        {
            var result = await engine.RunAsync(new JobRequest { Language = language, Fresh = fresh, Script = script });

            Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status}: {result.Error} {Encoding.UTF8.GetString(result.Stderr)}");
            Assert.Equal("ran\n", Encoding.UTF8.GetString(result.Stdout));
            Assert.Equal(_root.Path, engine.Options.WorkRoot);
        }
        Assert.Empty(Directory.GetFileSystemEntries(_root.Path));
    }

    [Fact]
    public async Task ALongWorkRoot_RunsJobs_ThoughSocketPathsBelowItWouldBeTooLong()
    {
        // 80 bytes: the engine's folder and the job root's exit socket below it come to about 130, past the 107 a
        // Unix socket path may hold.
        var root = Path.Combine(_root.Path, new string('w', 80 - _root.Path.Length - 1));
        Assert.Equal(80, root.Length);

        await using (var engine = new JobEngine(new EngineOptions { WorkRoot = root }))
        {
            var result = await engine.RunAsync(new JobRequest { Script = "print('ran')" });

            Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status}: {result.Error} {Encoding.UTF8.GetString(result.Stderr)}");
            Assert.Equal("ran\n", Encoding.UTF8.GetString(result.Stdout));
        }
        Assert.Empty(Directory.GetFileSystemEntries(root));
    }

    [Fact]
    public async Task ARelativeArtifactDirectory_GivesArtifactsFullPaths()
    {
        var artifacts = Path.Combine(_root.Path, "artifacts");
        await using var engine = new JobEngine(new EngineOptions { WorkRoot = Path.Combine(_root.Path, "work") });

        var result = await engine.RunAsync(new JobRequest
        {
            Script = "open('report.txt', 'w').write('42')",
            ArtifactDirectory = Path.GetRelativePath(Environment.CurrentDirectory, artifacts),
        });

        Assert.Equal(JobStatus.Succeeded, result.Status);
        var report = Assert.Single(result.Artifacts);
        // Kept in a result, a relative path would point elsewhere once the host changes its current directory.
        Assert.Equal(Path.Combine(artifacts, "report.txt"), report.Path);
        Assert.Equal("42", File.ReadAllText(report.Path));
    }
}
