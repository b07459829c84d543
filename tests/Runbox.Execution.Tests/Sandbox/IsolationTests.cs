using System.Net;
using System.Net.Sockets;
using Runbox.Execution.Engine;
using Runbox.Execution.Jobs;
using static Runbox.Execution.Tests.Sandbox.SandboxAssert;

namespace Runbox.Execution.Tests.Sandbox;

/// <summary>SECURITY.md "Isolation": the job sees and reaches nothing of the host.</summary>
[Collection(SandboxCollection.Name)]
public sealed class IsolationTests(SandboxFixture fixture)
{
    private static JobRequest Python(string script, bool network = false) => new()
    {
        Script = script,
        Network = network,
        Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(8) },
    };

    private static JobRequest Bash(string script) => new() { Language = JobLanguage.Bash, Script = script };

    [SkippableFact]
    public async Task NetworkEgress_FailsForTcpUdpIpv6AndDns()
    {
        fixture.RequireFullSandbox();
        var result = await RunWithCanaryAsync(fixture, Python("""
            import socket
            def attempt(name, f):
                try:
                    f()
                    print(name, "reached")
                except OSError:
                    print(name, "failed")
            def tcp():
                socket.create_connection(("1.1.1.1", 443), timeout=2)
            def udp():
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.sendto(b"x", ("8.8.8.8", 53))
            def ipv6():
                socket.create_connection(("2606:4700:4700::1111", 443), timeout=2)
            def dns():
                socket.getaddrinfo("example.com", 80)
            def metadata():
                socket.create_connection(("169.254.169.254", 80), timeout=2)
            def raw():
                socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            def packet():
                socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            for name, f in (("tcp", tcp), ("udp", udp), ("ipv6", ipv6), ("dns", dns), ("metadata", metadata), ("raw", raw), ("packet", packet)):
                attempt(name, f)
            """));
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("tcp failed\nudp failed\nipv6 failed\ndns failed\nmetadata failed\nraw failed\npacket failed\n", Stdout(result));
    }

    // Asking for network where the engine does not allow it is refused before the job runs
    // (JobRequestValidationTests.StartAsync_RefusesAJobAskingForNetwork_WhereTheEngineDoesNotAllowIt).
    [SkippableFact]
    public async Task AListenerOnTheHostsLoopback_IsUnreachable()
    {
        fixture.RequireFullSandbox();
        Assert.False(fixture.Engine.Options.AllowNetwork);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var result = await RunWithCanaryAsync(fixture, Python(
            $"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('reached')\nexcept OSError:\n    print('refused')\n"));
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("refused\n", Stdout(result));
        Assert.False(listener.Pending());
    }

    [SkippableFact]
    public async Task HostUnixAndAbstractSockets_AreUnreachable()
    {
        fixture.RequireFullSandbox();
        var path = $"/tmp/rbs-{Guid.NewGuid():N}.sock"[..30];
        var abstractName = $"runbox-test-{Guid.NewGuid():N}";
        using var filed = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        filed.Bind(new UnixDomainSocketEndPoint(path));
        filed.Listen();
        using var hidden = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        hidden.Bind(new UnixDomainSocketEndPoint("\0" + abstractName));
        hidden.Listen();
        try
        {
            var result = await RunWithCanaryAsync(fixture, Python($$"""
                import socket
                for address in ("{{path}}", "\0{{abstractName}}"):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    try:
                        s.connect(address)
                        print("reached")
                    except OSError:
                        print("refused")
                """));
            Assert.Equal(JobStatus.Succeeded, result.Status);
            Assert.Equal("refused\nrefused\n", Stdout(result));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public async Task AJobRunningBeside_IsUnreachableThroughSocketsSharedMemoryAndSignals()
    {
        fixture.RequireFullSandbox();
        // The neighbour listens on an abstract socket and a loopback port, holds System V and POSIX shared memory, and
        // says its pid; the job beside it (another slot, at the same time) looks for each.
        var neighbour = await fixture.Engine.StartAsync(new JobRequest
        {
            Script = """
                import ctypes, os, socket, time
                hidden = socket.socket(socket.AF_UNIX)
                hidden.bind("\0runbox-neighbour")
                hidden.listen()
                port = socket.socket()
                port.bind(("127.0.0.1", 8766))
                port.listen()
                assert ctypes.CDLL(None).shmget(0x5EB, 4096, 0o1666) >= 0
                open("/dev/shm/neighbour", "w").write("secret")
                print(os.getpid(), flush=True)
                time.sleep(4)
                """,
            Limits = new JobLimits { Timeout = TimeSpan.FromSeconds(10) },
        });
        using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var pid = "";
        await foreach (var line in neighbour.ReadLogsAsync(ready.Token))
        {
            pid = line.Text.Trim();
            break;
        }
        Assert.Matches("^[0-9]+$", pid);
        // Run beside it, not with RunWithCanaryAsync: that finds the neighbour's processes running and takes them for left.
        var result = await fixture.Engine.RunAsync(Python($$"""
            import ctypes, os, socket
            def attempt(name, f):
                try:
                    f()
                    print(name, "reached")
                except OSError:
                    print(name, "failed")
            attempt("abstract", lambda: socket.socket(socket.AF_UNIX).connect("\0runbox-neighbour"))
            attempt("port", lambda: socket.create_connection(("127.0.0.1", 8766), timeout=2))
            print("shm", ctypes.CDLL(None).shmget(0x5EB, 0, 0) >= 0)
            print("dev/shm", os.listdir("/dev/shm"))
            attempt("signal", lambda: os.kill({{pid}}, 0))
            """));
        Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status} {result.Error} {Stderr(result)}");
        Assert.Equal("abstract failed\nport failed\nshm False\ndev/shm []\nsignal failed\n", Stdout(result));
        var ended = await neighbour.Completion;
        Assert.True(ended.Status == JobStatus.Succeeded, $"{ended.Status} {ended.Error} {Stderr(ended)}");
        await AssertNothingLeftAsync(fixture, result.Id);
        await AssertNothingLeftAsync(fixture, ended.Id);
    }

    [SkippableFact]
    public async Task Environment_HoldsOnlyTheAllowlistAndTheJobsOwnVariables()
    {
        fixture.RequireFullSandbox();
        Environment.SetEnvironmentVariable("RUNBOX_TEST_SECRET", "hunter2");
        var result = await RunWithCanaryAsync(fixture, new JobRequest
        {
            Language = JobLanguage.Bash,
            Script = "printenv\ncat /proc/self/environ | tr '\\0' '\\n'\ncat /proc/1/environ 2>/dev/null | tr '\\0' '\\n'\necho end",
            Environment = new Dictionary<string, string> { ["JOB_OWN"] = "mine" },
        });
        Assert.Equal(JobStatus.Succeeded, result.Status);
        var output = Stdout(result);
        Assert.Contains("JOB_OWN=mine", output);
        Assert.DoesNotContain("hunter2", output);
        Assert.DoesNotContain("DOTNET_", output);
        Assert.EndsWith("end\n", output);
    }

    [SkippableFact]
    public async Task StartupVariablesAJobSets_RunItsCodeAsItsOwnUid_AndReachNoLaterJob()
    {
        fixture.RequireFullSandbox();
        // BASH_ENV, PYTHONPATH (a sitecustomize) and LD_PRELOAD make the interpreter run the job's code before its script:
        // harmless only if that happens after the job became its slot's uid, and only in that job.
        var files = new Dictionary<string, byte[]>
        {
            ["env.sh"] = "echo \"bash_env as $(id -u)\"\n"u8.ToArray(),
            ["sitecustomize.py"] = "import os\nprint('sitecustomize as', os.getuid())\n"u8.ToArray(),
        };
        var variables = new Dictionary<string, string> { ["BASH_ENV"] = "./env.sh", ["PYTHONPATH"] = ".", ["LD_PRELOAD"] = "./missing.so" };
        var bash = await RunWithCanaryAsync(fixture, new JobRequest
        {
            Language = JobLanguage.Bash, Script = "echo \"script as $(id -u)\"\n", Files = files, Environment = variables,
        });
        var python = await RunWithCanaryAsync(fixture, new JobRequest
        {
            Fresh = true, Script = "import os\nprint('script as', os.getuid())\n", Files = files, Environment = variables,
        });
        Assert.True(bash.Status == JobStatus.Succeeded, $"{bash.Status} {bash.Error} {Stderr(bash)}");
        Assert.True(python.Status == JobStatus.Succeeded, $"{python.Status} {python.Error} {Stderr(python)}");
        var uid = Stdout(bash).Split('\n')[0].Split(' ')[^1];
        Assert.True(int.Parse(uid) >= SandboxFixture.FirstUid, Stdout(bash));
        Assert.Equal($"bash_env as {uid}\nscript as {uid}\n", Stdout(bash));
        var pythonUid = Stdout(python).Split('\n')[0].Split(' ')[^1];
        Assert.True(int.Parse(pythonUid) >= SandboxFixture.FirstUid, Stdout(python));
        Assert.Equal($"sitecustomize as {pythonUid}\nscript as {pythonUid}\n", Stdout(python));
        // Every slot's next jobs start clean.
        for (var i = 0; i < fixture.Engine.Options.Slots * 2; i++)
        {
            var next = await fixture.Engine.RunAsync(new JobRequest { Language = JobLanguage.Bash, Script = "printenv BASH_ENV PYTHONPATH LD_PRELOAD; echo clean" });
            Assert.Equal("clean\n", Stdout(next));
            Assert.Equal("", Stderr(next));
        }
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OnlyDescriptorsZeroOneAndTwo_AreOpen(bool fresh)
    {
        fixture.RequireFullSandbox();
        var result = await RunWithCanaryAsync(fixture, new JobRequest
        {
            Fresh = fresh,
            Script = "import os\nopen_fds = []\nfor fd in range(0, 4096):\n    try:\n        os.fstat(fd)\n        open_fds.append(fd)\n    except OSError:\n        pass\nprint(open_fds)\n",
        });
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("[0, 1, 2]\n", Stdout(result));
    }

    [SkippableFact]
    public async Task HostFiles_AreNotVisible()
    {
        fixture.RequireFullSandbox();
        // Another job's folder, while it runs.
        var neighbour = await fixture.Engine.StartAsync(new JobRequest { Script = "import time\ntime.sleep(2)\n" });
        string? neighbourFolder = null;
        for (var i = 0; i < 100 && neighbourFolder is null; i++)
        {
            neighbourFolder = Directory.EnumerateDirectories(fixture.WorkRoot, neighbour.Id, SearchOption.AllDirectories).FirstOrDefault();
            await Task.Delay(20);
        }
        Assert.NotNull(neighbourFolder);
        // /root itself is hidden; only an interpreter installed below it (pyenv) is shown, read-only.
        var secret = $"/root/.rbs-secret-{Guid.NewGuid():N}";
        await File.WriteAllTextAsync(secret, "host secret");
        try
        {
            var result = await RunWithCanaryAsync(fixture, Python($"""
                import os
                for path in ("{neighbourFolder}", "{secret}", "/home", "/srv", "/sys", "/work", "{fixture.WorkRoot}/engine-x"):
                    print(path.split("/")[-1] or path, os.path.exists(path))
                seen = []
                for dirpath, dirnames, filenames in os.walk("{fixture.WorkRoot}"):
                    seen.extend(filenames)
                print(sorted(seen))
                """));
            Assert.Equal(JobStatus.Succeeded, result.Status);
            var lines = Stdout(result).Split('\n');
            Assert.All(lines.Take(7), line => Assert.EndsWith(" False", line));
            Assert.Equal("['main.py']", lines[7]); // only its own folder, holding only its own script
        }
        finally
        {
            File.Delete(secret);
        }
        await neighbour.Completion;
    }

    [SkippableFact]
    public async Task ProcessList_ShowsOnlyTheJob()
    {
        fixture.RequireFullSandbox();
        var result = await RunWithCanaryAsync(fixture, Bash("sleep 5 &\nls /proc | grep -E '^[0-9]+$' | wc -l\nps -e -o comm= | sort | tr '\\n' ' '"));
        Assert.Equal(JobStatus.Succeeded, result.Status);
        var lines = Stdout(result).Split('\n');
        // The init, the shell, its sleep and the ls/grep/wc of the pipeline.
        Assert.InRange(int.Parse(lines[0].Trim()), 3, 7);
        Assert.DoesNotContain("dotnet", lines[1]);
        Assert.DoesNotContain("zygote", lines[1]);
    }

    [SkippableFact]
    public async Task KillingEveryProcess_HarmsNothingOutside()
    {
        fixture.RequireFullSandbox();
        var result = await RunWithCanaryAsync(fixture, Bash("trap '' TERM\nkill -9 -1\nkill -9 1\nfor pid in 3 4 5 100 1000 32768; do [ $pid = $$ ] || kill -9 $pid 2>/dev/null; done\necho alive"));
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("alive\n", Stdout(result));
        var after = await fixture.Engine.RunAsync(new JobRequest { Script = "print('engine still works')" });
        Assert.Equal("engine still works\n", Stdout(after));
    }

    [SkippableFact]
    public async Task TheInit_CannotBeTracedReadOrSignalled()
    {
        fixture.RequireFullSandbox();
        // The init (pid 1) outlives the job and serves the next ones: a job that traced it, read its memory or made it
        // run a signal handler would reach them.
        var result = await RunWithCanaryAsync(fixture, Python("""
            import ctypes, errno, os, signal
            libc = ctypes.CDLL(None, use_errno=True)
            def outcome(r):
                return errno.errorcode.get(ctypes.get_errno()) if r < 0 else "allowed"
            print("attach", outcome(libc.ptrace(16, 1, 0, 0)))  # PTRACE_ATTACH
            print("seize", outcome(libc.ptrace(0x4206, 1, 0, 0)))  # PTRACE_SEIZE
            buffer = ctypes.create_string_buffer(64)
            local = (ctypes.c_void_p * 2)(ctypes.addressof(buffer), 64)
            remote = (ctypes.c_void_p * 2)(0x400000, 64)
            print("process_vm_readv", outcome(libc.process_vm_readv(1, local, 1, remote, 1, 0)))
            for path in ("/proc/1/mem", "/proc/1/environ", "/proc/1/maps", "/proc/1/fd"):
                try:
                    os.listdir(path) if path.endswith("fd") else open(path, "rb").read(1)
                    print(path, "read")
                except OSError as e:
                    print(path, errno.errorcode[e.errno])
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD, signal.SIGSTOP, signal.SIGKILL):
                try:
                    os.kill(1, sig)
                    print(sig.name, "sent")
                except OSError as e:
                    print(sig.name, errno.errorcode[e.errno])
            """));
        Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status} {result.Error} {Stderr(result)}");
        Assert.Equal(
            """
            attach EPERM
            seize EPERM
            process_vm_readv EPERM
            /proc/1/mem EACCES
            /proc/1/environ EACCES
            /proc/1/maps EACCES
            /proc/1/fd EACCES
            SIGTERM EPERM
            SIGHUP EPERM
            SIGINT EPERM
            SIGUSR1 EPERM
            SIGUSR2 EPERM
            SIGCHLD EPERM
            SIGSTOP EPERM
            SIGKILL EPERM

            """, Stdout(result));
        // Every slot's init still serves jobs.
        for (var i = 0; i < fixture.Engine.Options.Slots * 2; i++)
        {
            Assert.Equal("45\n", Stdout(await fixture.Engine.RunAsync(new JobRequest { Script = "print(sum(range(10)))" })));
        }
    }

    [SkippableFact]
    public async Task WritesToTheSystem_AreDenied()
    {
        fixture.RequireFullSandbox();
        // The runtime's own folders too: a module written into its site-packages would be imported by later jobs.
        var result = await RunWithCanaryAsync(fixture, Python("""
            import os, site, sys
            for path in ("/x", "/usr/x", "/etc/passwd", "/proc/sys/kernel/hostname", "/sys/fs/cgroup/cgroup.procs", "/proc/sysrq-trigger",
                         *(folder + "/rbx_planted.py" for folder in site.getsitepackages() + [sys.prefix, os.path.dirname(os.__file__)])):
                try:
                    with open(path, "w") as f:
                        f.write("0")
                    print(path, "written")
                except OSError:
                    print(path, "denied")
            """));
        Assert.Equal(JobStatus.Succeeded, result.Status);
        var lines = Stdout(result).TrimEnd().Split('\n');
        Assert.All(lines, line => Assert.EndsWith(" denied", line));
        Assert.Contains(lines, line => line.EndsWith("site-packages/rbx_planted.py denied", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task SetuidBinariesUserNamespacesAndMount_GainNoPrivilege()
    {
        fixture.RequireFullSandbox();
        // A setuid-root program of the test's own, so the test does not rest on the host's /bin/su keeping its bit (a
        // host may strip them all); no_new_privs must make it run as the job's uid.
        var setuid = $"/usr/local/bin/runbox-test-setuid-id-{Guid.NewGuid():N}";
        File.Copy("/usr/bin/id", setuid);
        try
        {
            File.SetUnixFileMode(setuid, UnixFileMode.SetUser | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            var result = await RunWithCanaryAsync(fixture, Bash($"""
                ls -l {setuid} | cut -c1-10
                {setuid} -u; {setuid} -ru
                mount -t tmpfs none /tmp 2>/dev/null && echo mounted || echo mount refused
                su -c id root </dev/null >/dev/null 2>&1 && echo su worked || echo su refused
                unshare -Ur cat /etc/shadow >/dev/null 2>&1 && echo shadow read || echo shadow refused
                cat /etc/shadow >/dev/null 2>&1 && echo shadow read || echo shadow refused
                id -u
                """));
            Assert.Equal(JobStatus.Succeeded, result.Status);
            var lines = Stdout(result).Split('\n');
            Assert.Equal("-rwsr-xr-x", lines[0]); // the setuid bit is there; no_new_privs makes it inert
            Assert.Equal(lines[7], lines[1]); // its effective uid is the job's, not root's
            Assert.Equal(lines[7], lines[2]);
            Assert.Equal(["mount refused", "su refused", "shadow refused", "shadow refused"], lines[3..7]);
            Assert.True(int.Parse(lines[7]) >= SandboxFixture.FirstUid);
        }
        finally
        {
            File.Delete(setuid);
        }
    }

    [SkippableFact]
    public async Task UserNamespacesKeyringsAndIoUring_AreRefused_WhileThreadsAndChildrenStillWork()
    {
        fixture.RequireFullSandbox();
        // The engine's probe says the filter holds here (/readyz shows it), with no warning about it.
        Assert.True(fixture.Engine.Capabilities.SyscallFilter, string.Join("; ", fixture.Engine.Capabilities.Warnings));
        Assert.DoesNotContain(fixture.Engine.Capabilities.Warnings, w => w.StartsWith("syscall filter", StringComparison.Ordinal));
        // Without the filter a job made a user namespace (every capability over namespaces of its own: nf_tables, mounts),
        // used the uid's keyrings, which outlive it, and io_uring.
        var result = await RunWithCanaryAsync(fixture, Python("""
            import ctypes, errno, multiprocessing, os, subprocess, threading
            libc = ctypes.CDLL(None, use_errno=True)
            nr = {"x86_64": dict(add_key=248, keyctl=250, request_key=249, io_uring_setup=425, bpf=321, perf_event_open=298,
                                 userfaultfd=323, clone3=435, syslog=103, unshare=272, clone=56),
                  "aarch64": dict(add_key=217, keyctl=219, request_key=218, io_uring_setup=425, bpf=280, perf_event_open=241,
                                  userfaultfd=282, clone3=435, syslog=116, unshare=97, clone=220)}[os.uname().machine]
            buffer = ctypes.create_string_buffer(256)
            calls = [("add_key", b"user", b"k", b"v", 1, -4), ("keyctl", 0, -4, 0), ("request_key", b"user", b"k", None, 0),
                     ("io_uring_setup", 8, buffer), ("bpf", 0, buffer, 128), ("perf_event_open", buffer, 0, -1, -1, 0),
                     ("userfaultfd", 0), ("clone3", buffer, 88), ("syslog", 3, buffer, 256), ("unshare", 0x10000000), ("clone", 0x10000000 | 17, 0, 0, 0, 0)]
            for name, *args in calls:
                r = libc.syscall(nr[name], *args)
                if r == 0 and name == "clone":
                    os._exit(0)  # the child of a clone that went through
                print(name, errno.errorcode.get(ctypes.get_errno()) if r < 0 else "allowed")
            t = threading.Thread(target=print, args=("thread",))
            t.start()
            t.join()
            print(subprocess.run(["sh", "-c", "unshare -Ur true 2>/dev/null || echo unshare refused"], capture_output=True, text=True).stdout.strip())
            with multiprocessing.Pool(2) as pool:
                print(pool.map(abs, [-1, -2]))
            """));
        Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status} {result.Error} {Stderr(result)}");
        Assert.Equal(
            """
            add_key ENOSYS
            keyctl ENOSYS
            request_key ENOSYS
            io_uring_setup ENOSYS
            bpf ENOSYS
            perf_event_open ENOSYS
            userfaultfd ENOSYS
            clone3 ENOSYS
            syslog ENOSYS
            unshare EPERM
            clone EPERM
            thread
            unshare refused
            [1, 2]

            """, Stdout(result));
    }

    [SkippableFact]
    public async Task SocketsOfFamiliesNoJobNeeds_AreRefused_WhileUnixInetAndNetlinkWork()
    {
        fixture.RequireFullSandbox();
        // AF_VSOCK is not namespaced: without the filter a job's vsock socket was made (and on a virtual machine would
        // reach the hypervisor's host) whatever its network namespace. Each family is tried with socket and socketpair.
        var result = await RunWithCanaryAsync(fixture, Python("""
            import errno, socket
            def attempt(make):
                try:
                    for s in make():
                        s.close()
                    return "made"
                except OSError as e:
                    return errno.errorcode.get(e.errno)
            for name, family in [("vsock", 40), ("alg", 38), ("tipc", 30), ("packet", 17), ("unix", 1), ("inet", 2), ("inet6", 10), ("netlink", 16)]:
                kind = socket.SOCK_RAW if family in (16, 17) else socket.SOCK_SEQPACKET if family in (30, 38) else socket.SOCK_STREAM
                print(name, attempt(lambda: [socket.socket(family, kind)]), attempt(lambda: socket.socketpair(family, socket.SOCK_STREAM)))
            """));
        Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status} {result.Error} {Stderr(result)}");
        // socketpair is only for AF_UNIX: the others are refused by the kernel when the filter lets them through.
        Assert.Equal(
            """
            vsock EAFNOSUPPORT EAFNOSUPPORT
            alg EAFNOSUPPORT EAFNOSUPPORT
            tipc EAFNOSUPPORT EAFNOSUPPORT
            packet EAFNOSUPPORT EAFNOSUPPORT
            unix made made
            inet made ENOTSUP
            inet6 made ENOTSUP
            netlink made ESOCKTNOSUPPORT

            """, Stdout(result));
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheSocketFamilyFilter_LeavesWhatJobsUseWorking(bool network)
    {
        fixture.RequireFullSandbox();
        await using var engine = new JobEngine(SandboxFixture.Options(fixture.WorkRoot) with { AllowNetwork = network, Slots = 1 });
        // Name lookup (netlink for AI_ADDRCONFIG), the interfaces (netlink), asyncio's and multiprocessing's socketpairs.
        var python = await engine.RunAsync(Python("""
            import asyncio, multiprocessing, socket
            async def main():
                return await asyncio.sleep(0, "asyncio")
            if __name__ == "__main__":
                print(sorted({a[4][0] for a in socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)}))
                print(any(name == "lo" for _, name in socket.if_nameindex()))
                print(asyncio.run(main()), flush=True)
                with multiprocessing.get_context("spawn").Pool(2) as pool:
                    print(pool.map(abs, [-1, -2]))
            """, network));
        Assert.True(python.Status == JobStatus.Succeeded, $"{python.Status} {python.Error} {Stderr(python)}");
        var lines = Stdout(python).Split('\n');
        Assert.Contains("127.0.0.1", lines[0]);
        Assert.Equal(["True", "asyncio", "[1, 2]"], lines[1..4]);
        Requires.Node();
        var node = await engine.RunAsync(new JobRequest
        {
            Language = JobLanguage.Node,
            Network = network,
            Script = "console.log(Object.keys(require('os').networkInterfaces()).includes('lo'));\n"
                + "require('dns').lookup('localhost', (e, address) => console.log(e ? e.code : 'resolved'));\n",
            Limits = new JobLimits { MemoryBytes = 512L * 1024 * 1024 },
        });
        Assert.True(node.Status == JobStatus.Succeeded, $"{node.Status} {node.Error} {Stderr(node)}");
        Assert.Equal(["true", "resolved"], Stdout(node).TrimEnd().Split('\n'));
    }

    [SkippableFact]
    public async Task NodeJobs_DoTheirFileIoWithoutIoUring()
    {
        fixture.RequireFullSandbox();
        Requires.Node();
        var result = await RunWithCanaryAsync(fixture, new JobRequest
        {
            Language = JobLanguage.Node,
            Script = "const fs = require('fs');\nfs.writeFileSync('x.txt', 'written');\nfs.readFile('x.txt', 'utf8', (e, d) => console.log(d, e));\n"
                + "require('child_process').exec('echo child', (e, out) => console.log(out.trim()));\n",
            Limits = new JobLimits { MemoryBytes = 512L * 1024 * 1024 },
        });
        Assert.True(result.Status == JobStatus.Succeeded, $"{result.Status} {result.Error} {Stderr(result)}");
        Assert.Equal(["child", "written null"], Stdout(result).TrimEnd().Split('\n').Order(StringComparer.Ordinal));
    }

    [SkippableFact]
    public async Task NetworkTrue_IsHonouredOnlyWhereTheEngineAllowsIt()
    {
        fixture.RequireFullSandbox();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var script = $"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('reached')\nexcept OSError:\n    print('refused')\n";
        await using var allowing = new JobEngine(SandboxFixture.Options(fixture.WorkRoot) with { AllowNetwork = true, Slots = 1 });
        var granted = await allowing.RunAsync(Python(script, network: true));
        var notAsked = await allowing.RunAsync(Python(script, network: false));
        Assert.Equal("reached\n", Stdout(granted));
        Assert.Equal("refused\n", Stdout(notAsked));
    }
}
