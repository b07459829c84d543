using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using static Runbox.Execution.Tests.Sandbox.SandboxAssert;

namespace Runbox.Execution.Tests.Sandbox;

/// <summary>
/// A sandbox (an init and its namespaces) serves many jobs one after another; nothing one job leaves behind may
/// reach the next: files in /tmp, /var/tmp and /dev/shm, System V shared memory, sockets and ports, processes, keys
/// in the kernel's keyrings, and nothing of a job (its environment, its arguments) in a later job's memory.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class SandboxReuseTests(SandboxFixture fixture)
{
    private const string Writer = """
        import ctypes, os, socket, subprocess
        for folder in ("/tmp", "/var/tmp", "/dev/shm"):
            with open(folder + "/left-by-writer", "w") as f:
                f.write("secret")
        assert ctypes.CDLL(None).shmget(0x5EC, 4096, 0o1666) >= 0  # IPC_CREAT | 0666
        listener = socket.socket(socket.AF_UNIX)
        listener.bind("\0left-by-writer")
        listener.listen()
        subprocess.Popen(["sleep", "30"], start_new_session=True)
        # A connection the server side closes first leaves its port in TIME_WAIT for a minute.
        server = socket.socket()
        server.bind(("127.0.0.1", 8765))
        server.listen()
        client = socket.create_connection(("127.0.0.1", 8765))
        accepted, _ = server.accept()
        accepted.close()
        client.close()
        server.close()
        print(os.getpid())
        """;

    private const string Checker = """
        import os, socket
        found = []
        for folder in ("/tmp", "/var/tmp", "/dev/shm"):
            # The job's own folder may lie under one of them (the engine's work root): that path is its own.
            found += [folder + "/" + name for name in os.listdir(folder) if not os.getcwd().startswith(folder + "/" + name + "/")]
        found += ["shm " + line.split()[0] for line in open("/proc/sysvipc/shm").read().splitlines()[1:]]
        found += [line for line in open("/proc/net/unix").read().splitlines() if "left-by-writer" in line]
        found += ["tcp " + line.split()[1] for line in open("/proc/net/tcp").read().splitlines()[1:]]
        try:
            socket.socket().bind(("127.0.0.1", 8765))  # no SO_REUSEADDR: refused while the port is in TIME_WAIT
        except OSError as e:
            found.append("bind 8765: %s" % e)
        for pid in os.listdir("/proc"):
            if pid.isdigit() and int(pid) not in (1, os.getpid()):
                found.append("process " + open("/proc/%s/comm" % pid).read().strip())
        print(os.getpid())
        print(found)
        """;

    [SkippableFact]
    public async Task NothingAJobLeaves_ReachesTheNextJobOfItsSandbox()
    {
        fixture.RequireFullSandbox();
        var checkerPids = new List<int>();
        for (var round = 0; round < 4; round++)
        {
            var writer = await fixture.Engine.RunAsync(new JobRequest { Script = Writer });
            Assert.True(writer.Status == JobStatus.Succeeded, $"writer: {writer.Status} {writer.Error} {Stderr(writer)}");
            var checker = await fixture.Engine.RunAsync(new JobRequest { Script = Checker });
            Assert.True(checker.Status == JobStatus.Succeeded, $"checker: {checker.Status} {checker.Error} {Stderr(checker)}");
            var lines = Stdout(checker).Split('\n');
            Assert.Equal("[]", lines[1]);
            checkerPids.Add(int.Parse(lines[0]));
        }
        // Each sandbox's first job is its pid 2: a higher pid shows a checker ran in a sandbox that served a job before.
        Assert.Contains(checkerPids, pid => pid > 2);
    }

    // Prints every 32 hex digits that follow "S3CR3T-" anywhere in the job's own memory (the needle is made at run time,
    // so the script's own text does not hold it).
    private const string MemoryScanner = """
        import re
        needle = b"-".join([b"S3CR3T", b""])
        found = set()
        with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
            for line in maps:
                parts = line.split()
                if not parts[1].startswith("r"):
                    continue
                start, end = (int(x, 16) for x in parts[0].split("-"))
                try:
                    mem.seek(start)
                    data = mem.read(end - start)
                except OSError:
                    continue
                for m in re.finditer(re.escape(needle) + rb"([0-9a-f]{32})", data):
                    found.add(m.group(1).decode())
        print(sorted(found))
        """;

    [SkippableFact]
    public async Task AnEarlierJobsEnvironmentAndArguments_AreNotInALaterJobsMemory()
    {
        fixture.RequireFullSandbox();
        // One ready init for three jobs at a time: the other two go through the zygote ("spawn"), which then forks new
        // inits. An init starts as a copy of the zygote's memory, and each job as a copy of its init's.
        var workRoot = $"/tmp/rbm-{Environment.ProcessId}";
        var engine = new JobEngine(SandboxFixture.Options(workRoot) with { PoolSize = 1 });
        try
        {
            var secrets = new List<string>();
            for (var round = 0; round < 3; round++)
            {
                var batch = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid().ToString("N")).ToList();
                secrets.AddRange(batch);
                var results = await Task.WhenAll(batch.Select(secret => engine.RunAsync(new JobRequest
                {
                    Script = "import time\ntime.sleep(0.3)\n",
                    Environment = new Dictionary<string, string> { ["TOKEN"] = "S3CR3T-" + secret },
                    Args = ["S3CR3T-" + secret],
                })));
                Assert.All(results, r => Assert.True(r.Status == JobStatus.Succeeded, $"{r.Status} {r.Error} {Stderr(r)}"));
            }
            var seen = new List<string>();
            for (var round = 0; round < 3; round++)
            {
                var scans = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => engine.RunAsync(new JobRequest { Script = MemoryScanner })));
                foreach (var scan in scans)
                {
                    Assert.True(scan.Status == JobStatus.Succeeded, $"{scan.Status} {scan.Error} {Stderr(scan)}");
                    seen.Add(Stdout(scan).Trim());
                }
            }
            var leaked = secrets.Where(secret => seen.Any(s => s.Contains(secret, StringComparison.Ordinal))).ToList();
            Assert.True(leaked.Count == 0, $"{leaked.Count} of {secrets.Count} earlier jobs' secrets found: {string.Join(" | ", seen)}");
        }
        finally
        {
            await engine.DisposeAsync();
            Directory.Delete(workRoot, recursive: true);
        }
    }

    [SkippableFact]
    public async Task AKeyInTheKernelsKeyrings_DoesNotReachTheNextJobOfItsUid()
    {
        fixture.RequireFullSandbox();
        // Keyrings are not namespaced: a slot's uid has one user keyring (and persistent keyring) in every job. Each slot
        // (uid) gets a writer, then each a reader.
        var name = "rb" + Guid.NewGuid().ToString("N")[..12];
        var writer = $$"""
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            nr = {"x86_64": (248, 250), "aarch64": (217, 219)}[__import__("os").uname().machine]
            persistent = libc.syscall(nr[1], 22, -1, -4)  # KEYCTL_GET_PERSISTENT, linked into the user keyring
            for ring in (-3, -4, -5, persistent):  # session, user, user session, persistent
                libc.syscall(nr[0], b"user", b"{{name}}", b"left by a job", 13, ring)  # add_key
            """;
        var reader = $$"""
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            nr = {"x86_64": 250, "aarch64": 219}[__import__("os").uname().machine]
            found = []
            persistent = libc.syscall(nr, 22, -1, -4)
            for ring in (-3, -4, -5, persistent):
                key = libc.syscall(nr, 10, ring, b"user", b"{{name}}", 0)  # KEYCTL_SEARCH
                if key > 0:
                    found.append(ring)
            print(found)
            """;
        for (var round = 0; round < fixture.Engine.Options.Slots; round++)
        {
            var written = await fixture.Engine.RunAsync(new JobRequest { Script = writer });
            Assert.True(written.Status == JobStatus.Succeeded, $"writer: {written.Status} {written.Error} {Stderr(written)}");
        }
        for (var round = 0; round < fixture.Engine.Options.Slots; round++)
        {
            var read = await fixture.Engine.RunAsync(new JobRequest { Script = reader });
            Assert.True(read.Status == JobStatus.Succeeded, $"reader: {read.Status} {read.Error} {Stderr(read)}");
            Assert.Equal("[]\n", Stdout(read));
        }
    }

    [SkippableFact]
    public async Task DevShm_IsWritable_SoMultiprocessingLocksWork()
    {
        fixture.RequireFullSandbox();
        var result = await fixture.Engine.RunAsync(new JobRequest
        {
            Script = "import multiprocessing\nlock = multiprocessing.Lock()\nwith lock:\n    print('locked')",
        });
        Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status} {result.Error} {Stderr(result)}");
        Assert.Equal("locked\n", Stdout(result));
    }

    [SkippableFact]
    public async Task TheEnginesFolder_ShowsEachJobOnlyItsOwnFolder()
    {
        fixture.RequireFullSandbox();
        // Outside /tmp: a job's /tmp is fresh anyway, while the rest of its root is its init's, shared by its jobs.
        var workRoot = $"/var/lib/rbs-{Environment.ProcessId}";
        var engine = new JobEngine(SandboxFixture.Options(workRoot));
        try
        {
            // Every folder the job finds under the work root is on the way to its own: no other slot's, no earlier job's.
            var script = $$"""
                import os
                cwd = os.getcwd()
                for dirpath, dirnames, filenames in os.walk("{{workRoot}}"):
                    if not (cwd + "/").startswith(dirpath.rstrip("/") + "/") and not dirpath.startswith(cwd + "/"):
                        print(dirpath)
                """;
            // Three at a time take the three slots (each its own folder); the inits serve jobs of every slot in turn.
            for (var round = 0; round < 4; round++)
            {
                var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => engine.RunAsync(new JobRequest { Script = script })));
                foreach (var result in results)
                {
                    Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status} {result.Error} {Stderr(result)}");
                    Assert.Equal("", Stdout(result));
                }
            }
        }
        finally
        {
            await engine.DisposeAsync();
            Directory.Delete(workRoot, recursive: true);
        }
    }
}
