using Runbox.Execution.Jobs;
using static Runbox.Execution.Tests.Sandbox.SandboxAssert;

namespace Runbox.Execution.Tests.Sandbox;

/// <summary>SECURITY.md: links, FIFOs and devices planted in the working directory are never followed or blocked on
/// by artifact collection and clean-up on the host side.</summary>
[Collection(SandboxCollection.Name)]
public sealed class HostFileTests(SandboxFixture fixture) : IDisposable
{
    private readonly string _host = Directory.CreateTempSubdirectory("rbs-host-").FullName;

    public void Dispose() => Directory.Delete(_host, recursive: true);

    [SkippableFact]
    public async Task PlantedLinksAndFifos_AreNeitherFollowedNorCopiedNorRemovedThrough()
    {
        fixture.RequireFullSandbox();
        var target = Path.Combine(_host, "secret.txt");
        var targetDir = Path.Combine(_host, "data");
        Directory.CreateDirectory(targetDir);
        await File.WriteAllTextAsync(target, "host secret");
        await File.WriteAllTextAsync(Path.Combine(targetDir, "keep.txt"), "keep");
        var artifacts = Path.Combine(_host, "artifacts");
        // The job cannot see the host paths, but the links it plants would resolve on the host side.
        var result = await RunWithCanaryAsync(fixture, new JobRequest
        {
            Language = JobLanguage.Bash,
            Script = $"""
                ln -s {target} link.txt
                ln -s {targetDir} linkdir
                mkdir sub && ln -s {target} sub/deep.txt
                mkfifo pipe
                mknod dev c 1 3 2>/dev/null && echo mknod worked
                echo real > real.txt
                echo planted
                """,
            ArtifactDirectory = artifacts,
        });
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("planted\n", Stdout(result));
        Assert.Equal(["real.txt"], result.Artifacts.Select(a => a.Name).ToArray());
        Assert.Equal(["real.txt"], Directory.EnumerateFiles(artifacts, "*", SearchOption.AllDirectories).Select(f => f[(f.LastIndexOf('/') + 1)..]).ToArray());
        Assert.Equal("host secret", await File.ReadAllTextAsync(target));
        Assert.Equal("keep", await File.ReadAllTextAsync(Path.Combine(targetDir, "keep.txt")));
    }

    [SkippableFact]
    public async Task AFifoNamedLikeAnArtifact_DoesNotBlockTheResult()
    {
        fixture.RequireFullSandbox();
        var result = await RunWithCanaryAsync(fixture, new JobRequest
        {
            Language = JobLanguage.Bash,
            Script = "mkfifo out.txt result.json; echo done",
            ArtifactDirectory = Path.Combine(_host, "artifacts"),
        });
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Empty(result.Artifacts);
        Assert.True(result.WallMs < 3000);
    }
}
