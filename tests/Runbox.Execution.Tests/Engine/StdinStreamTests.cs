using System.IO.Pipes;
using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Engine;

/// <summary><see cref="JobRequest.StdinStream"/>: stdin read from a stream while the job runs, never held whole.</summary>
public sealed class StdinStreamTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private JobEngine Engine => fixture.Engine;

    [Fact]
    public async Task StdinStream_IsFedWhileTheJobRuns_AsTheCallerWritesIt()
    {
        using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        using var reader = new AnonymousPipeClientStream(PipeDirection.In, pipe.ClientSafePipeHandle);
        var execution = await Engine.StartAsync(new JobRequest
        {
            Script = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(f'got {line.strip()}\\n')",
            StdinStream = reader,
            Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(30) },
        });
        var lines = execution.ReadLogsAsync().GetAsyncEnumerator();

        await pipe.WriteAsync("one\n"u8.ToArray());
        await pipe.FlushAsync();
        // The job answers the first line while its input is still open: the stream was not read to its end first.
        Assert.True(await lines.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("got one", lines.Current.Text);
        await pipe.WriteAsync("two\n"u8.ToArray());
        pipe.Close();

        var result = await execution.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("got one\ngot two\n", Encoding.UTF8.GetString(result.Stdout));
        await lines.DisposeAsync();
    }

    [Fact]
    public async Task StdinStream_DeliversEveryByte_OfAnInputLargerThanTheJobsOutputLimit()
    {
        const long size = 64L << 20;
        using var input = new PatternStream(size);

        var result = await Engine.RunAsync(new JobRequest
        {
            Script = "import sys, hashlib\nh = hashlib.sha256()\nn = 0\nwhile True:\n    b = sys.stdin.buffer.read(1 << 20)\n    if not b:\n        break\n    n += len(b)\n    h.update(b)\nprint(n, h.hexdigest())",
            StdinStream = input,
            Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(60) },
        });

        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal($"{size} {PatternStream.Sha256(size)}\n", Encoding.UTF8.GetString(result.Stdout));
    }

    [Fact]
    public async Task StdinStream_ThatFails_StopsTheJob_AsError()
    {
        using var input = new FailingStream("first line\n"u8.ToArray(), new IOException("the disk went away"));

        var result = await Engine.RunAsync(new JobRequest
        {
            Script = "import sys, time\nprint(sys.stdin.readline().strip(), flush=True)\nsys.stdin.read()\nprint('saw the end')",
            StdinStream = input,
            Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(30) },
        });

        Assert.Equal(JobStatus.Error, result.Status);
        Assert.Equal("the job's stdin stream could not be read: IOException: the disk went away", result.Error);
        Assert.DoesNotContain("saw the end", Encoding.UTF8.GetString(result.Stdout));
    }

    [Fact]
    public async Task StartAsync_RejectsStdinGivenTwice_AndAStreamThatCannotBeRead()
    {
        using var both = new MemoryStream("x"u8.ToArray());
        var twice = await Engine.RunAsync(new JobRequest { Script = "pass", Stdin = [1], StdinStream = both });
        Assert.Equal(JobStatus.Error, twice.Status);
        Assert.Equal("give stdin as bytes (Stdin) or as a stream (StdinStream), not both", twice.Error);

        var closed = new MemoryStream();
        closed.Dispose();
        var unreadable = await Engine.RunAsync(new JobRequest { Script = "pass", StdinStream = closed });
        Assert.Equal(JobStatus.Error, unreadable.Status);
        Assert.Equal("the stdin stream cannot be read (closed, or opened for writing only)", unreadable.Error);
    }

    /// <summary>A long input made as it is read: bytes 0, 1, ..., 255, 0, ... up to a length.</summary>
    private sealed class PatternStream(long length) : Stream
    {
        private long _position;

        public static string Sha256(long length)
        {
            using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var stream = new PatternStream(length);
            var buffer = new byte[1 << 20];
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var count = (int)Math.Min(buffer.Length, length - _position);
            for (var i = 0; i < count; i++)
            {
                buffer[i] = (byte)(_position + i);
            }
            _position += count;
            return count;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Gives its bytes, then throws on the next read.</summary>
    private sealed class FailingStream(byte[] first, Exception failure) : Stream
    {
        private bool _given;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_given)
            {
                throw failure;
            }
            _given = true;
            first.CopyTo(buffer, offset);
            return first.Length;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
