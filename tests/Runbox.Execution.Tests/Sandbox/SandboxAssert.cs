using System.Text;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;

namespace Runbox.Execution.Tests.Sandbox;

/// <summary>Runs a hostile job beside a canary that must finish normally, then checks nothing of the job is left.</summary>
internal static class SandboxAssert
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    public static string Stdout(JobResult result) => Encoding.UTF8.GetString(result.Stdout);

    public static string Stderr(JobResult result) => Encoding.UTF8.GetString(result.Stderr);

    public static async Task<JobResult> RunWithCanaryAsync(SandboxFixture fixture, JobRequest hostile)
    {
        var execution = await fixture.Engine.StartAsync(hostile);
        var canary = await fixture.Engine.RunAsync(new JobRequest { Script = "print(sum(range(10)))" }).WaitAsync(Bound);
        var result = await execution.Completion.WaitAsync(Bound);
        Assert.True(canary.Status == JobStatus.Succeeded, $"canary: {canary.Status} {canary.Error} {Stderr(canary)}");
        Assert.Equal("45\n", Stdout(canary));
        await AssertNothingLeftAsync(fixture, result.Id);
        return result;
    }

    public static async Task AssertNothingLeftAsync(SandboxFixture fixture, string jobId)
    {
        // The result comes once the job's processes are dead; allow the kernel a moment to tear them down.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        List<string> left;
        while ((left = Leftovers(fixture, jobId)).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.True(left.Count == 0, "left behind: " + string.Join("; ", left));
    }

    private static List<string> Leftovers(SandboxFixture fixture, string jobId)
    {
        var left = new List<string>();
        // Only this fixture's engine: other test classes run jobs of their own engines meanwhile.
        var plan = fixture.Engine.Plan;
        var uids = Enumerable.Range(0, fixture.Engine.Options.Slots).Select(plan.UidFor).OfType<int>().ToHashSet();
        left.AddRange(SlotProcesses(uids).Select(p => $"process {p} as a slot uid"));
        left.AddRange(NonEmptyJobCgroups(plan.Cgroups?.Parents ?? []).Select(c => $"cgroup {c} not empty"));
        foreach (var engine in Directory.EnumerateDirectories(fixture.WorkRoot, "engine-*"))
        {
            // On the host's disk (jobs/<id>), or in its slot's size-limited tmpfs (disks/<slot>/<id>).
            var disks = Path.Combine(engine, "disks");
            var folders = Directory.Exists(disks) ? Directory.EnumerateDirectories(disks).Select(d => Path.Combine(d, jobId)) : [];
            foreach (var folder in folders.Append(Path.Combine(engine, "jobs", jobId)))
            {
                if (Directory.Exists(folder))
                {
                    left.Add($"job folder {folder}");
                }
            }
        }
        return left;
    }

    /// <summary>Processes descended from this test process (the engine's zygotes and jobs) running as one of the
    /// engine's slot uids. Only descendants: other engines on a shared machine may use the same uids.</summary>
    private static List<int> SlotProcesses(HashSet<int> slotUids)
    {
        var parents = new Dictionary<int, int>();
        var uids = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] == "Z")
                {
                    continue; // a zombie holds nothing; its parent reaps it
                }
                parents[pid] = int.Parse(fields[1]);
                var uidLine = File.ReadLines(Path.Combine(dir, "status")).First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                uids[pid] = int.Parse(uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
            {
            }
        }
        var self = Environment.ProcessId;
        bool Descends(int pid)
        {
            for (var hops = 0; hops < 64 && parents.TryGetValue(pid, out var parent); hops++)
            {
                if (parent == self)
                {
                    return true;
                }
                pid = parent;
            }
            return false;
        }
        return uids.Where(u => slotUids.Contains(u.Value) && Descends(u.Key)).Select(u => u.Key).ToList();
    }

    /// <summary>
    /// The engine's job cgroups (job-* in each of its parents) that still hold a process. Pooled ones (pool-*) hold
    /// job processes waiting for their job, by design.
    /// </summary>
    private static List<string> NonEmptyJobCgroups(IReadOnlyList<string> parents)
    {
        var found = new List<string>();
        foreach (var parent in parents)
        {
            List<string> jobs;
            try
            {
                jobs = Directory.EnumerateDirectories(parent, "job-*").ToList();
            }
            catch (DirectoryNotFoundException)
            {
                continue; // the engine was disposed meanwhile, cgroups and all
            }
            foreach (var job in jobs)
            {
                string procs;
                try
                {
                    procs = File.ReadAllText(Path.Combine(job, "cgroup.procs")).Trim();
                }
                catch (IOException)
                {
                    continue; // removed meanwhile, as it should be
                }
                if (procs.Length > 0)
                {
                    found.Add($"{job} ({procs.Replace('\n', ' ')})");
                }
            }
        }
        return found;
    }
}
