using System.Text;
using System.Text.Json;
using Runbox.Execution.Jobs;
using Runbox.Storage.Jobs;

namespace Runbox.Storage.Tests;

/// <summary>Jobs for tests. Times are whole microseconds, the precision both backends keep.</summary>
public static class TestJobs
{
    public static readonly DateTimeOffset Epoch = new(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static long counter;

    public static string NewId() => "job_" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>A later time on every call, so insertion order is creation order unless a test says otherwise.</summary>
    public static DateTimeOffset NextCreatedAt() => Epoch.AddMilliseconds(Interlocked.Increment(ref counter));

    public static JobRecord Queued(
        string? id = null,
        string owner = "key_alice",
        DateTimeOffset? createdAt = null,
        string runtime = "default",
        string? script = "print('hello')",
        int maxAttempts = 1) => new()
        {
            Id = id ?? NewId(),
            Owner = owner,
            Status = JobStatus.Queued,
            CreatedAt = createdAt ?? NextCreatedAt(),
            Spec = new JobSpec { Script = script, Runtime = runtime, MaxAttempts = maxAttempts },
        };

    public static LogLine Line(long seq, string text, LogStream stream = LogStream.Stdout) =>
        new(seq, Epoch.AddSeconds(seq), stream, text);

    public static string SpecJson(JobSpec spec) => JsonSerializer.Serialize(spec, JobSpecJson.Default.JobSpec);

    public static Stream Bytes(string text) => new MemoryStream(Encoding.UTF8.GetBytes(text));
}
