using Runbox.Execution.Engine;
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
    public async Task NamesThatAreNotUtf8_AreLeftOut_AndTheOtherArtifactsKept()
    {
        fixture.RequireFullSandbox();
        var artifacts = Path.Combine(_host, "artifacts");
        // A name .NET cannot decode came back as one with U+FFFD, which names no file: reading its size threw, and the
        // job lost every artifact, listed or copied, after the error was logged as a failed clean-up.
        var result = await RunWithCanaryAsync(fixture, new JobRequest
        {
            Script = """
                import os
                open(b"a\xffbad.txt", "wb").write(b"bad")
                os.mkdir(b"b\xfedir")
                open(b"b\xfedir/inner.txt", "wb").write(b"inner")
                open("good.txt", "w").write("good")
                open("z.txt", "w").write("z")
                """,
            ArtifactDirectory = artifacts,
        });
        Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status} {result.Error} {Stderr(result)}");
        Assert.Equal(["good.txt", "z.txt"], result.Artifacts.Select(a => a.Name).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal("good", await File.ReadAllTextAsync(Path.Combine(artifacts, "good.txt")));
    }

    [SkippableTheory]
    [InlineData("undecodable", "open(b'a\\xffbad.txt', 'wb').write(b'x')\nos.mkdir(b'b\\xfedir')\nopen(b'b\\xfedir/c\\xfd', 'wb').write(b'x')\n")]
    [InlineData("deep", "for _ in range(2500):\n    os.mkdir('d')\n    os.chdir('d')\nopen('leaf', 'wb').write(b'x')\n")]
    public async Task AFolderNotRemovableByName_IsStillEmptied_AndItsSlotKeepsWorking(string kind, string body)
    {
        fixture.RequireFullSandbox();
        // One slot, so the next job gets the same slot's disk. .NET names files by decoded strings and full paths: a name
        // that is not UTF-8, or a path longer than PATH_MAX, could not be removed, and every later job of the slot failed
        // to empty it.
        _ = kind;
        var workRoot = $"/tmp/rbf-{Environment.ProcessId}";
        var engine = new JobEngine(SandboxFixture.Options(workRoot) with { Slots = 1 });
        try
        {
            var planted = await engine.RunAsync(new JobRequest { Script = "import os\n" + body });
            Assert.True(planted.Status == JobStatus.Succeeded, $"{planted.Status} {planted.Error} {Stderr(planted)}");
            for (var i = 0; i < 2; i++)
            {
                var next = await engine.RunAsync(new JobRequest { Script = "import os\nprint(sorted(os.listdir('.')))" });
                Assert.True(next.Status == JobStatus.Succeeded, $"{next.Status} {next.Error} {Stderr(next)}");
                Assert.Equal("['main.py']\n", Stdout(next));
            }
            var disk = Directory.EnumerateDirectories(workRoot, "disks", SearchOption.AllDirectories).Single();
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(disk, "0")));
        }
        finally
        {
            await engine.DisposeAsync();
            Directory.Delete(workRoot, recursive: true);
        }
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
