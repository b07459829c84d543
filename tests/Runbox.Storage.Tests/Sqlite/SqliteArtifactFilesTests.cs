using System.Text;
using Runbox.Storage.Sqlite;

namespace Runbox.Storage.Tests.Sqlite;

/// <summary>Artifacts as files: where they land, and that no symbolic link in the data folder is followed.</summary>
public sealed class SqliteArtifactFilesTests(TempFolder folder) : IClassFixture<TempFolder>
{
    [Fact]
    public async Task SaveArtifact_WritesFileUnderJobFolder_WhenNameIsNested()
    {
        var data = folder.NewSubfolder();
        await using var store = await OpenAsync(data);
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);

        await store.SaveArtifactAsync(job.Id, "out/deep/result.txt", TestJobs.Bytes("hello"));

        Assert.Equal("hello", await File.ReadAllTextAsync(Path.Combine(data, "artifacts", job.Id, "out", "deep", "result.txt")));
        Assert.Empty(Directory.GetFiles(Path.Combine(data, "tmp")));
    }

    [Fact]
    public async Task SaveArtifact_RefusesLinkedFolder_WhenJobFolderIsSymlink()
    {
        var data = folder.NewSubfolder();
        var outside = folder.NewSubfolder();
        await using var store = await OpenAsync(data);
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        Directory.CreateDirectory(Path.Combine(data, "artifacts"));
        File.CreateSymbolicLink(Path.Combine(data, "artifacts", job.Id), outside);

        await Assert.ThrowsAsync<IOException>(() => store.SaveArtifactAsync(job.Id, "a.txt", TestJobs.Bytes("x")));

        Assert.Empty(Directory.GetFileSystemEntries(outside));
        Assert.Empty(await store.ListArtifactsAsync(job.Id));
    }

    [Fact]
    public async Task SaveArtifact_ReplacesLinkItself_WhenTargetNameIsSymlink()
    {
        var data = folder.NewSubfolder();
        var victim = Path.Combine(folder.NewSubfolder(), "victim.txt");
        await File.WriteAllTextAsync(victim, "untouched");
        await using var store = await OpenAsync(data);
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await store.SaveArtifactAsync(job.Id, "keep.txt", TestJobs.Bytes("k"));
        var link = Path.Combine(data, "artifacts", job.Id, "link.txt");
        File.CreateSymbolicLink(link, victim);

        Assert.Null(await store.OpenArtifactAsync(job.Id, "link.txt"));
        Assert.Equal(["keep.txt"], (await store.ListArtifactsAsync(job.Id)).Select(artifact => artifact.Name));
        await store.SaveArtifactAsync(job.Id, "link.txt", TestJobs.Bytes("new"));

        Assert.Equal("untouched", await File.ReadAllTextAsync(victim));
        Assert.Null(new FileInfo(link).LinkTarget);
        await using var opened = await store.OpenArtifactAsync(job.Id, "link.txt");
        using var reader = new StreamReader(opened!, Encoding.UTF8);
        Assert.Equal("new", await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task DeleteJob_RemovesLinkNotTarget_WhenArtifactIsSymlink()
    {
        var data = folder.NewSubfolder();
        var victim = Path.Combine(folder.NewSubfolder(), "victim.txt");
        await File.WriteAllTextAsync(victim, "untouched");
        await using var store = await OpenAsync(data);
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await store.SaveArtifactAsync(job.Id, "a.txt", TestJobs.Bytes("a"));
        File.CreateSymbolicLink(Path.Combine(data, "artifacts", job.Id, "link.txt"), victim);

        Assert.True(await store.DeleteJobAsync(job.Id));

        Assert.False(Directory.Exists(Path.Combine(data, "artifacts", job.Id)));
        Assert.Equal("untouched", await File.ReadAllTextAsync(victim));
    }

    [Fact]
    public async Task ClaimSave_LeavesNoTemporaryFile_NorWritesOutside_WhenRefusedOrLinked()
    {
        // A worker's fenced save writes to <data>/tmp before its fence is checked: a refused save (the job deleted under
        // it) and one into a job folder swapped for a link must each leave that folder empty and the outside untouched.
        var data = folder.NewSubfolder();
        var outside = folder.NewSubfolder();
        await using var store = await OpenAsync(data);
        var linked = TestJobs.Queued();
        await store.InsertJobAsync(linked);
        await using var linkedClaim = await store.ClaimAsync("worker-1", TimeSpan.FromSeconds(30));
        Directory.CreateDirectory(Path.Combine(data, "artifacts"));
        File.CreateSymbolicLink(Path.Combine(data, "artifacts", linked.Id), outside);

        await Assert.ThrowsAsync<IOException>(() => linkedClaim!.SaveArtifactAsync("a.txt", TestJobs.Bytes("x")));
        var deleted = TestJobs.Queued();
        await store.InsertJobAsync(deleted);
        await using var deletedClaim = await store.ClaimAsync("worker-1", TimeSpan.FromSeconds(30));
        Assert.Equal(deleted.Id, deletedClaim!.Job.Id);
        await store.DeleteJobAsync(deleted.Id);
        Assert.False(await deletedClaim.SaveArtifactAsync("a.txt", TestJobs.Bytes("x")));

        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(data, "tmp")));
        Assert.Empty(Directory.GetFileSystemEntries(outside));
        Assert.False(Directory.Exists(Path.Combine(data, "artifacts", deleted.Id)));
    }

    private static async Task<SqliteJobStore> OpenAsync(string data)
    {
        var store = new SqliteJobStore(data);
        await store.MigrateAsync();
        return store;
    }
}
