using System.Text;
using Runbox.Storage.Artifacts;

namespace Runbox.Storage.Tests.Contract;

public abstract partial class JobStoreContract
{
    [SkippableFact]
    public async Task SaveArtifact_KeepsExactBytes_WhenListedAndOpened()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        byte[] binary = [0, 255, 10, 13, 0xc3, 0x28];

        await store.SaveArtifactAsync(job.Id, "out/data.bin", new MemoryStream(binary));
        await store.SaveArtifactAsync(job.Id, "report.txt", TestJobs.Bytes("first"));
        await store.SaveArtifactAsync(job.Id, "report.txt", TestJobs.Bytes("replaced"));

        var listed = await store.ListArtifactsAsync(job.Id);
        Assert.Equal(["out/data.bin", "report.txt"], listed.Select(artifact => artifact.Name));
        Assert.Equal([6L, 8L], listed.Select(artifact => artifact.Size));
        Assert.All(listed, artifact => Assert.Equal(job.Id, artifact.JobId));
        Assert.Equal(binary, await ReadAllAsync(await store.OpenArtifactAsync(job.Id, "out/data.bin")));
        Assert.Equal("replaced", Encoding.UTF8.GetString(await ReadAllAsync(await store.OpenArtifactAsync(job.Id, "report.txt"))));
    }

    [SkippableFact]
    public async Task OpenArtifact_ReturnsNull_WhenNoneByThatName()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await store.SaveArtifactAsync(job.Id, "a.txt", TestJobs.Bytes("a"));

        Assert.Null(await store.OpenArtifactAsync(job.Id, "b.txt"));
        Assert.Null(await store.OpenArtifactAsync(job.Id, "dir/a.txt"));
        Assert.Empty(await store.ListArtifactsAsync(TestJobs.NewId()));
    }

    [SkippableTheory]
    [InlineData("")]
    [InlineData("../escape.txt")]
    [InlineData("out/../../escape.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("dir\\file.txt")]
    [InlineData("nul\0byte")]
    [InlineData("line\nbreak")]
    [InlineData("carriage\rreturn")]
    [InlineData("double//slash")]
    [InlineData("./dot")]
    [InlineData("trailing/")]
    public async Task SaveArtifact_ThrowsArgumentException_WhenNameIsUnsafe(string name)
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);

        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.SaveArtifactAsync(job.Id, name, TestJobs.Bytes("x")));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.OpenArtifactAsync(job.Id, name));
        Assert.Empty(await store.ListArtifactsAsync(job.Id));
    }

    [SkippableFact]
    public async Task SaveArtifact_ThrowsAndKeepsNothing_WhenLargerThanLimit()
    {
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        await store.SaveArtifactAsync(job.Id, "exact.bin", new MemoryStream(new byte[ArtifactLimitBytes]));

        var error = await Assert.ThrowsAsync<ArtifactTooLargeException>(
            () => store.SaveArtifactAsync(job.Id, "big.bin", new MemoryStream(new byte[ArtifactLimitBytes + 1])));

        Assert.Equal(ArtifactLimitBytes, error.LimitBytes);
        Assert.Equal(["exact.bin"], (await store.ListArtifactsAsync(job.Id)).Select(artifact => artifact.Name));
    }

    [SkippableFact]
    public async Task SaveArtifact_ThrowsKeyNotFound_WhenNoSuchJob()
    {
        await using var store = await NewStoreAsync();

        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.SaveArtifactAsync("job_missing", "a.txt", TestJobs.Bytes("a")));
    }

    [SkippableFact]
    public async Task SaveArtifact_ThrowsKeyNotFoundAndKeepsNothing_WhenTheJobIsDeletedWhileItsContentIsRead()
    {
        // A client deleting a running job as its worker saves what it left (a large file takes a while to write).
        await using var store = await NewStoreAsync();
        var job = TestJobs.Queued();
        await store.InsertJobAsync(job);
        var content = new DeletingStream(TestJobs.Bytes("left by the job"), () => store.DeleteJobAsync(job.Id));

        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.SaveArtifactAsync(job.Id, "out/report.txt", content));

        Assert.True(content.Deleted);
        Assert.Empty(await store.ListArtifactsAsync(job.Id));
        Assert.Null(await store.OpenArtifactAsync(job.Id, "out/report.txt"));
    }

    /// <summary>Content that runs <c>delete</c> when it is first read, then reads as <c>inner</c> does.</summary>
    private sealed class DeletingStream(Stream inner, Func<Task> delete) : Stream
    {
        public bool Deleted { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!Deleted)
            {
                Deleted = true;
                await delete();
            }
            return await inner.ReadAsync(buffer, cancellationToken);
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static async Task<byte[]> ReadAllAsync(Stream? stream)
    {
        Assert.NotNull(stream);
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }
}
