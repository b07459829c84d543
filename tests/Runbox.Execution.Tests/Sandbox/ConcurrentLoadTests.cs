using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using static Runbox.Execution.Tests.Sandbox.SandboxAssert;

namespace Runbox.Execution.Tests.Sandbox;

/// <summary>SECURITY.md "50 heavy jobs at once": concurrency capped at the slots, each job ends as it should, nothing left.</summary>
[Collection(SandboxCollection.Name)]
public sealed class ConcurrentLoadTests(SandboxFixture fixture)
{
    private const long Mb = 1024 * 1024;

    /// <summary>A heavy job and how it must end. Each prints its uid first, so the slots it ran in can be counted.</summary>
    private sealed record Heavy(string Name, string Script, JobLimits Limits, JobStatus Status, LimitKind Limit);

    private static readonly string UidLine = "import os\nprint(os.getuid(), flush=True)\n";

    private static readonly JobLimits Base = new()
    {
        Timeout = TimeSpan.FromSeconds(20),
        CpuSeconds = 10,
        MemoryBytes = 64 * Mb,
        DiskBytes = 4 * Mb,
    };

    private static readonly Heavy[] Kinds =
    [
        // Near its memory limit, some CPU, a file: must succeed and keep the file.
        new("near-limits", UidLine + "import time\nblock = bytearray(40 << 20)\nfor i in range(0, len(block), 4096):\n    block[i] = 1\n" +
            "end = time.process_time() + 0.2\nwhile time.process_time() < end:\n    pass\nopen('result.txt', 'w').write('done')\n",
            Base, JobStatus.Succeeded, LimitKind.None),
        new("memory", UidLine + "chunks = []\nwhile True:\n    chunks.append(bytearray(16 << 20))\n",
            Base, JobStatus.Failed, LimitKind.Memory),
        new("cpu", UidLine + "while True:\n    pass\n",
            Base with { CpuSeconds = 0.5 }, JobStatus.TimedOut, LimitKind.CpuTime),
        new("wall", UidLine + "import time\ntime.sleep(60)\n",
            Base with { Timeout = TimeSpan.FromSeconds(1) }, JobStatus.TimedOut, LimitKind.WallTime),
        new("disk", UidLine + "with open('fill', 'wb') as f:\n    while True:\n        f.write(b'z' * (1 << 20))\n",
            Base, JobStatus.Failed, LimitKind.Disk),
    ];

    [SkippableFact]
    public async Task FiftyHeavyJobsAtOnce_EndAsTheyShouldWithinTheSlotsAndLeaveNothing()
    {
        fixture.RequireFullSandbox();
        var slots = fixture.Engine.Options.Slots;
        var jobs = Enumerable.Range(0, 50).Select(i => Kinds[i % Kinds.Length]).ToList();
        // All submitted at once: the engine holds back those beyond its slots until one frees.
        var runs = jobs.Select(kind => fixture.Engine.RunAsync(new JobRequest { Script = kind.Script, Limits = kind.Limits })).ToList();
        var canary = fixture.Engine.RunAsync(new JobRequest { Script = "print(sum(range(10)))" });
        var results = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(150));

        var wrong = new List<string>();
        for (var i = 0; i < jobs.Count; i++)
        {
            var (kind, result) = (jobs[i], results[i]);
            if (result.Status != kind.Status || result.LimitExceeded != kind.Limit)
            {
                wrong.Add($"#{i} {kind.Name}: {result.Status}/{result.LimitExceeded.ToWire()} {result.Error} {Stderr(result).Trim()}");
            }
            else if (kind.Name == "near-limits" && result.Artifacts.Select(a => a.Name).SingleOrDefault() != "result.txt")
            {
                wrong.Add($"#{i} {kind.Name}: artifacts {string.Join(",", result.Artifacts.Select(a => a.Name))}");
            }
        }
        Assert.True(wrong.Count == 0, "wrong endings:\n" + string.Join("\n", wrong));

        // One uid per slot: however many were submitted, no more ran side by side than the engine has slots.
        var uids = results.Select(r => Stdout(r).Split('\n')[0]).Where(u => u.Length > 0).Distinct().ToList();
        Assert.InRange(uids.Count, 1, slots);
        Assert.All(uids, uid => Assert.True(int.Parse(uid) >= SandboxFixture.FirstUid, $"uid {uid}"));

        var canaryResult = await canary.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(JobStatus.Succeeded, canaryResult.Status);
        Assert.Equal("45\n", Stdout(canaryResult));
        foreach (var result in results)
        {
            await AssertNothingLeftAsync(fixture, result.Id);
        }
        Assert.Equal(slots, fixture.Engine.FreeSlots);
    }
}
