# Runbox zygote: one per runtime. Started by the engine with the runtime's own interpreter, it imports the
# runtime's preload modules once, then forks a child per job. Python 3.8+; stdlib only.
#
# Processes:
#   zygote ── keeps a small pool of job inits, forked ahead of demand into fresh namespaces
#     └─ init (one per job; pid 1 of its own PID namespace where available) ── waits for its job, then
#          └─ job: drops privileges, limits itself, then runs the script in place (fast path) or execve()s.
#   When the job ends the init kills whatever the job left behind, reports the exit status, and exits.
#
# Control channel: a SOCK_SEQPACKET Unix socket to the engine, one JSON object per message. Job stdio are
# socket pairs made here; the engine's ends travel to it with SCM_RIGHTS in the "started" message, so output
# flows from the job straight to the engine.

import array
import atexit
import builtins
import errno
import gc
import io
import json
import os
import random  # every job reseeds it; imported here so no job pays for the import
import resource
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import types

MAX_MESSAGE = 1 << 20

# Linux constants (stable ABI).
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

_libc = None


def libc():
    global _libc
    if _libc is None:
        import ctypes
        import ctypes.util
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def check(result, what):
    if result != 0:
        import ctypes
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def prctl(option, arg):
    check(libc().prctl(option, arg, 0, 0, 0), "prctl(%d)" % option)


def unshare(flags):
    check(libc().unshare(flags), "unshare")


def mount(source, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None
    check(libc().mount(enc(source), enc(target), enc(fstype), flags, enc(data)), "mount %s" % target)


def umount2(target, flags):
    check(libc().umount2(target.encode(), flags), "umount %s" % target)


def pivot_root(new_root, put_old):
    check(libc().syscall(155, new_root.encode(), put_old.encode()), "pivot_root")


# ----------------------------------------------------------------------------------------------- messages

def send(sock, obj, fds=()):
    data = json.dumps(obj, separators=(",", ":")).encode()
    if fds:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.send(data)


def recv(sock, max_fds=0):
    """One message and the descriptors that came with it; (None, []) at end of stream."""
    fds = array.array("i")
    if max_fds:
        data, ancdata, _flags, _addr = sock.recvmsg(MAX_MESSAGE, socket.CMSG_SPACE(max_fds * fds.itemsize))
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    else:
        data = sock.recv(MAX_MESSAGE)
    if not data:
        return None, list(fds)
    return json.loads(data), list(fds)


# ------------------------------------------------------------------------------------------------ sandbox

class Sandbox:
    """What each job init sets up. Decided by the engine and probed at start; see probe()."""

    def __init__(self, config):
        self.namespaces = config.get("namespaces", False)
        self.pid_ns = self.namespaces and config.get("pid_namespace", True)
        self.net_ns = self.namespaces and config.get("network_namespace", True)
        self.mount_ns = self.namespaces and config.get("mount_namespace", True)
        self.root_dir = config.get("root_dir")          # an empty directory to build the job's root on
        self.ro_paths = list(config.get("ro_paths", []))  # host paths visible read-only inside
        # The interpreter's own prefix (a pyenv or venv outside /usr) must be visible for the job to run.
        for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                       os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))):
            if prefix and not prefix.startswith(("/usr/", "/bin/", "/lib")) and prefix != "/usr" \
                    and prefix not in self.ro_paths:
                self.ro_paths.append(prefix)
        self.tmp_size = config.get("tmp_size", "64m")
        # One folder per controller hierarchy; each pooled job gets a fresh cgroup in each.
        self.cgroup_parents = list(config.get("cgroup_parents", []))
        self.hostname = "runbox"
        self.ipc_uts = True

    def apply_probe(self, results):
        """Uses only what the probe showed to work; the engine reports the rest as missing."""
        if not self.namespaces:
            return
        self.net_ns = self.net_ns and results.get("network") == "1"
        self.mount_ns = self.mount_ns and results.get("mount") == "1"
        self.pid_ns = self.pid_ns and results.get("pid") == "1"
        if results.get("ipc") != "1":
            self.namespaces = self.net_ns or self.mount_ns or self.pid_ns
            self.ipc_uts = False

    def flags(self, network):
        f = 0
        if self.namespaces:
            if self.ipc_uts:
                f |= CLONE_NEWIPC | CLONE_NEWUTS
            if self.mount_ns:
                f |= CLONE_NEWNS
            if self.net_ns and not network:
                f |= CLONE_NEWNET
            if self.pid_ns:
                f |= CLONE_NEWPID
        return f

    def enter(self, network):
        """In a fresh init (before its job is known): new namespaces, then the parts of the root all jobs share."""
        flags = self.flags(network)
        if flags:
            unshare(flags)
        if flags & CLONE_NEWUTS:
            socket.sethostname(self.hostname)
        if flags & CLONE_NEWNET:
            loopback_up()

    def build_root(self):
        """Inside the init (pid 1 of the new PID namespace): a tmpfs root with the system read-only."""
        if not self.mount_ns:
            return
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        root = self.root_dir
        mount("runbox", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=16m")
        # The private /tmp first: a read-only path under /tmp (a venv in a data folder there) is bound on top of it,
        # not hidden beneath it.
        for path, mode in (("/dev/shm", "1777"), ("/tmp", "1777"), ("/var/tmp", "1777")):
            os.makedirs(root + path, exist_ok=True)
            mount("tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV,
                  "mode=%s,size=%s" % (mode, self.tmp_size))
        for path in ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc"] + list(self.ro_paths):
            self.bind_readonly(path, root)
        os.makedirs(root + "/proc", exist_ok=True)
        mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        dev = root + "/dev"
        os.makedirs(dev, exist_ok=True)
        mount("dev", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k")
        for name in ("null", "zero", "full", "random", "urandom"):
            open(dev + "/" + name, "w").close()
            mount("/dev/" + name, dev + "/" + name, None, MS_BIND)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, dev + "/" + name)
        os.makedirs(root + "/.oldroot", exist_ok=True)

    def bind_readonly(self, path, root):
        if not os.path.lexists(path):
            return
        target = root + path
        if os.path.islink(path):
            if not os.path.lexists(target):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.symlink(os.readlink(path), target)
            return
        if os.path.exists(target) and os.path.ismount(target):
            return
        os.makedirs(target, exist_ok=True)
        mount(path, target, None, MS_BIND | MS_REC)
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)

    def enter_root(self, workdir):
        """At job time: mount the job's own folder, then make the tmpfs the root."""
        if not self.mount_ns:
            return
        root = self.root_dir
        target = root + workdir
        os.makedirs(target, exist_ok=True)
        mount(workdir, target, None, MS_BIND)
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV)
        pivot_root(root, root + "/.oldroot")
        os.chdir("/")
        umount2("/.oldroot", MNT_DETACH)
        mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def loopback_up():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        import fcntl
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sh14x", b"lo", IFF_UP))
    finally:
        s.close()


def probe(sandbox):
    """Which namespaces this host lets us create; tried in a throwaway child so nothing here changes."""
    if not sandbox.namespaces:
        return {}
    results = {}
    for name, flag in (("network", CLONE_NEWNET), ("mount", CLONE_NEWNS), ("pid", CLONE_NEWPID),
                       ("ipc", CLONE_NEWIPC | CLONE_NEWUTS)):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            ok = b"1"
            try:
                unshare(flag)
                if flag == CLONE_NEWNS:
                    mount(None, "/", None, MS_REC | MS_PRIVATE)
                    mount("probe", sandbox.root_dir, "tmpfs", 0, "size=1m")
                if flag == CLONE_NEWPID:
                    child = os.fork()
                    if child == 0:
                        os._exit(0 if os.getpid() == 1 else 1)
                    _, status = os.waitpid(child, 0)
                    ok = b"1" if status == 0 else b"0"
            except Exception as e:
                ok = b"0" + str(e).encode()[:200]
            os.write(w, ok)
            os._exit(0)
        os.close(w)
        answer = b""
        while True:
            chunk = os.read(r, 256)
            if not chunk:
                break
            answer += chunk
        os.close(r)
        os.waitpid(pid, 0)
        results[name] = answer.decode(errors="replace")
    return results


# --------------------------------------------------------------------------------------------------- job

def reset_signals():
    """A .NET parent passes ignored signals and its mask on; a job starts with defaults."""
    for sig in range(1, signal.NSIG):
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            pass
    try:
        signal.set_wakeup_fd(-1)
    except (ValueError, OSError):
        pass
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_SETMASK, [])


def apply_limits(spec):
    limits = spec.get("rlimits", {})
    table = (("cpu", resource.RLIMIT_CPU), ("as", resource.RLIMIT_AS), ("fsize", resource.RLIMIT_FSIZE),
             ("nofile", resource.RLIMIT_NOFILE), ("nproc", resource.RLIMIT_NPROC), ("core", resource.RLIMIT_CORE))
    for key, which in table:
        value = limits.get(key)
        if value is None:
            continue
        hard = value + 1 if key == "cpu" else value  # SIGXCPU at the soft limit, SIGKILL a second later
        try:
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            soft, old_hard = resource.getrlimit(which)
            resource.setrlimit(which, (min(value, old_hard) if old_hard != resource.RLIM_INFINITY else value, old_hard))


def become_job_user(spec):
    uid, gid = spec.get("uid"), spec.get("gid")
    if uid is None or os.geteuid() != 0:
        return
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def job_standby(control, sandbox, cgroup_dirs, standby):
    """The pre-forked job process: does everything that does not depend on the job, then waits for it.
    Never returns."""
    joined = None  # or why joining failed
    try:
        # Joining a cgroup waits for an RCU grace period (milliseconds): done here, off the job's critical path.
        for directory in cgroup_dirs:
            try:
                with open(directory + "/cgroup.procs", "w") as f:
                    f.write("0")
            except OSError as e:
                joined = "%s: %s" % (directory, e)
        os.setpgid(0, 0)
        keep = sorted((control.fileno(), standby))
        os.closerange(3, keep[0])
        os.closerange(keep[0] + 1, keep[1])
        os.closerange(keep[1] + 1, 65536)
        reset_signals()
        atexit._clear()  # the zygote's own handlers are not the job's
        reseed()
        make_stdio()  # bound to fds 0-2 by number: valid once the job's sockets are dup'ed there
        os.write(standby, b"1")
        os.close(standby)
        spec, fds = recv(control, max_fds=3)
        if spec is None:
            os._exit(0)
        control.close()
    except BaseException:
        os._exit(127)
    job_start(spec, fds, sandbox, joined)


def job_start(spec, script_fds, sandbox, joined):
    """Becomes the job: its cgroups, folder and root (while still root), stdio, limits, uid, then its program.
    Never returns."""
    try:
        # Stdio first, so that a setup failure below is reported on the job's own stderr.
        for i, fd in enumerate(script_fds):
            os.dup2(fd, i)
        for fd in script_fds:
            if fd > 2:
                os.close(fd)
        directories = spec.get("cgroup_dirs", [])
        if directories and joined is not None:
            raise OSError("could not join the job's cgroup (%s), so its limits cannot hold" % joined)
        # Limits go on before the job's own code runs; the files are root's, out of the job's reach.
        for index, name, value in spec.get("cgroup_limits", []):
            with open(directories[index] + "/" + name, "w") as f:
                f.write(value)
        if spec.get("uid") is not None and os.geteuid() == 0:
            own_tree(spec["cwd"], spec["uid"], spec["gid"])
        # pivot_root moves every process of the namespace whose root is the old one: the init too.
        sandbox.enter_root(spec["cwd"])
        apply_limits(spec)
        if spec.get("no_new_privs", True):
            try:
                prctl(PR_SET_NO_NEW_PRIVS, 1)
            except OSError:
                pass
        become_job_user(spec)
        os.chdir(spec["cwd"])
        os.umask(0o022)
        env = spec.get("env", {})
        if spec["mode"] == "exec":
            argv = spec["argv"]
            os.execve(argv[0], argv, env)
        run_in_place(spec, env)
    except BaseException:
        try:
            os.write(2, ("runbox: could not start the job: %s\n" % (sys.exc_info()[1],)).encode(errors="replace"))
        finally:
            os._exit(127)


def make_stdio():
    errors_out = getattr(sys.__stdout__, "errors", None) or "strict"
    errors_in = getattr(sys.__stdin__, "errors", None) or "strict"
    encoding = getattr(sys.__stdout__, "encoding", None) or "utf-8"
    # As `python -u`: the binary layer unbuffered, the text layer written through, so output is live.
    stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding=encoding,
                             errors=errors_in, line_buffering=False)
    stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding=encoding, errors=errors_out,
                              write_through=True)
    stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding=encoding, errors="backslashreplace",
                              write_through=True)
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = stdin, stdout, stderr


def run_in_place(spec, env):
    """The fast path: behave like `python script.py` inside this already-warm interpreter."""
    os.environ.clear()
    os.environ.update(env)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as CPython does at start-up: BrokenPipeError, not death
    path = spec["argv"][0]
    sys.argv = list(spec["argv"])
    sys.path[0] = os.path.dirname(os.path.abspath(path))
    main = types.ModuleType("__main__")
    main.__dict__.update({"__file__": path, "__builtins__": builtins, "__cached__": None,
                          "__package__": None, "__spec__": None, "__annotations__": {}})
    sys.modules["__main__"] = main
    code = 0
    interrupted = False
    try:
        with open(path, "rb") as f:
            source = f.read()
        exec(compile(source, path, "exec", dont_inherit=True), main.__dict__)
    except SystemExit as e:
        code = exit_code(e)
    except KeyboardInterrupt:
        interrupted = True
        print_exception()
        code = 130
    except BaseException:
        print_exception()
        code = 1
    code = finish(code)
    if interrupted:
        flush_std()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


def exit_code(e):
    value = e.code
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value & 0xFF
    try:
        sys.stderr.write(str(value) + "\n")
    except Exception:
        pass
    return 1


def print_exception(skip=1):
    """Prints the exception as CPython would: the traceback starts at the script's frame, not the zygote's."""
    kind, value, tb = sys.exc_info()
    for _ in range(skip):
        if tb is not None:
            tb = tb.tb_next
    if value is not None:
        value.__traceback__ = tb
    try:
        sys.excepthook(kind, value, tb)
    except Exception:
        traceback.print_exception(kind, value, tb)


def finish(code):
    """CPython's shutdown order: join non-daemon threads, run atexit handlers, flush."""
    try:
        threading._shutdown()
    except BaseException:
        pass
    try:
        atexit._run_exitfuncs()
    except SystemExit as e:
        code = exit_code(e)
    except BaseException:
        print_exception(skip=0)
    return code if flush_std() else 120


def flush_std():
    ok = True
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            ok = False
    return ok


def reseed():
    random.seed()
    np = sys.modules.get("numpy")
    if np is not None:
        try:
            np.random.seed(None)
        except Exception:
            pass


# -------------------------------------------------------------------------------------------------- init

class Init:
    """The zygote's view of one job init process."""

    def __init__(self, pid, sock, job_sock, network):
        self.pid = pid
        self.sock = sock
        self.job_sock = job_sock
        self.network = network
        self.job = None
        self.kill_at = None  # when to escalate a requested kill to SIGKILL
        self.cgroup = None   # name of its cgroup in every hierarchy, when cgroups are in use
        self.ready_early = False  # said ready before its host pid was reported


def spawn_init(sandbox, network, cgroup_dirs):
    """Forks an init into fresh namespaces. Returns (pid, init socket, job socket); the init reports its
    host pid, then ready once its job process waits on the job socket."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    job_parent, job_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    flush_std()
    pid = os.fork()
    if pid == 0:
        parent.close()
        job_parent.close()
        try:
            keep = sorted((child.fileno(), job_child.fileno()))
            os.closerange(3, keep[0])
            os.closerange(keep[0] + 1, keep[1])
            os.closerange(keep[1] + 1, 65536)
            os.setsid()
            sandbox.enter(network)
            if sandbox.flags(network) & CLONE_NEWPID:
                # The first child after unshare(CLONE_NEWPID) is pid 1 of the new namespace: it is the init.
                # This process only reports its host pid and leaves; the zygote (a subreaper) adopts it.
                inner = os.fork()
                if inner == 0:
                    init_main(child, job_child, sandbox, cgroup_dirs)
                send(child, {"pid": inner})
                os._exit(0)
            send(child, {"pid": os.getpid()})
            init_main(child, job_child, sandbox, cgroup_dirs)
        except BaseException as e:
            try:
                send(child, {"error": "init setup failed: %s" % (e,)})
            finally:
                os._exit(1)
    child.close()
    job_child.close()
    return pid, parent, job_parent


def init_main(sock, job_sock, sandbox, cgroup_dirs):
    """Pid 1 of the job (or its subreaper). Forks the job process ahead of the job; the zygote hands the job
    straight to it. Then waits, cleans up, reports. Never returns.

    It watches its socket while the job runs: a "kill" message or the zygote's end (EOF) kills the job."""
    status = {}
    try:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
        sandbox.build_root()
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda _sig, _frame: None)
        standby_r, standby_w = os.pipe()
        flush_std()
        pid = os.fork()
        if pid == 0:
            sock.close()
            os.close(wake_r)
            os.close(wake_w)
            os.close(standby_r)
            job_standby(job_sock, sandbox, cgroup_dirs, standby_w)
        job_sock.close()
        os.close(standby_w)
        # Ready only once the job process is: its cgroup must be joined before the zygote renames it.
        os.read(standby_r, 1)
        os.close(standby_r)
        send(sock, {"ready": True})
        killed = False
        job_status = None
        while job_status is None:
            ready, _, _ = select.select([sock, wake_r], [], [])
            if wake_r in ready:
                os.read(wake_r, 4096)
            if sock in ready:
                message, _ = recv(sock)
                if message is None or message.get("op") == "kill":
                    killed = True
                    job_status = kill_descendants(pid)
            if job_status is None:
                try:
                    done, wait_status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done, wait_status = pid, signal.SIGKILL  # reaped while killing: it died by SIGKILL
                if done:
                    job_status = wait_status
        # Whatever the job left behind (daemons, setsid, double forks) dies with it.
        kill_descendants(None)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        status = {"status": job_status, "killed": killed,
                  "utime_us": int(children.ru_utime * 1e6), "stime_us": int(children.ru_stime * 1e6),
                  "maxrss_kb": children.ru_maxrss}
    except BaseException as e:
        status = {"error": "job setup failed: %s" % (e,)}
    try:
        send(sock, status)
    finally:
        os._exit(0)


def own_tree(path, uid, gid):
    """Hands the job's folder (made by the engine, holding only its inputs) to the job's uid."""
    os.chown(path, uid, gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def kill_descendants(job_pid):
    """Kills everything the job started, however it detached (setsid, double fork), and reaps it all.
    Returns the wait status of job_pid when it was reaped here."""
    job_status = None
    for _ in range(10000):
        if os.getpid() == 1:
            try:
                os.kill(-1, signal.SIGKILL)  # from pid 1: every other process of the namespace
            except ProcessLookupError:
                pass
        else:
            for pid in descendants(os.getpid()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        reaped_any = False
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return job_status
            if pid == 0:
                break
            if pid == job_pid:
                job_status = wait_status
            reaped_any = True
        if not reaped_any:
            time.sleep(0.001)
    return job_status


def descendants(root):
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        try:
            for task in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                    for child in f.read().split():
                        found.append(int(child))
                        stack.append(int(child))
        except OSError:
            pass
    return found


# ------------------------------------------------------------------------------------------------ zygote

class Zygote:
    def __init__(self, control, config):
        self.control = control
        self.config = config
        self.sandbox = Sandbox(config.get("sandbox", {}))
        self.pool_size = config.get("pool", 2)
        self.pool = {False: [], True: []}  # network → ready inits
        self.by_sock = {}                  # socket fd → Init
        self.jobs = {}                     # job id → Init
        self.starting = 0                  # inits forked but not ready yet
        self.counter = 0                   # names pooled cgroups
        self.waiting = []                  # spawn requests waiting for a ready init

    def run(self):
        while True:
            readable = [self.control] + [i.sock for i in self.by_sock.values()]
            try:
                # Work first; a pool refill (a fork, new namespaces) only when nothing is waiting.
                ready, _, _ = select.select(readable, [], [], 0)
                if not ready:
                    if self.refill():
                        continue
                    timeout = 0.05 if any(i.kill_at for i in self.jobs.values()) else 1.0
                    ready, _, _ = select.select(readable, [], [], timeout)
            except InterruptedError:
                continue
            for sock in ready:
                if sock is self.control:
                    if not self.on_control():
                        return
                else:
                    self.on_init(self.by_sock.get(sock.fileno()))
            self.escalate_kills()
            self.reap()

    def refill(self):
        """Starts one more init when the pool (counting those still setting up) is short. True if it did."""
        if len(self.pool[False]) + self.starting < self.pool_size + len(self.waiting):
            self.add_to_pool(False)
            return True
        return False

    def add_to_pool(self, network):
        """Forks an init; it joins the pool when it reports ready (see on_init), never blocking the loop."""
        self.counter += 1
        name = "pool-%d-%d" % (os.getpid(), self.counter)  # zygotes of several runtimes share the parents
        dirs = []
        for parent in self.sandbox.cgroup_parents:
            try:
                os.mkdir(parent + "/" + name)
                dirs.append(parent + "/" + name)
            except OSError as e:
                send(self.control, {"t": "warning", "message": "cannot create cgroup %s/%s: %s" % (parent, name, e)})
        if len(dirs) != len(self.sandbox.cgroup_parents):
            dirs = []  # all or nothing: the job then fails rather than run with part of its limits
        pid, sock, job_sock = spawn_init(self.sandbox, network, dirs)
        init = Init(None, sock, job_sock, network)
        init.cgroup = name if dirs else None
        self.by_sock[sock.fileno()] = init
        self.starting += 1
        return init

    def on_control(self):
        try:
            message, _ = recv(self.control)
        except OSError:
            message = None
        if message is None or message.get("op") == "exit":
            self.shutdown()
            return False
        op = message.get("op")
        if op == "spawn":
            self.spawn(message)
        elif op == "kill":
            self.kill(message["id"])
        return True

    def spawn(self, spec):
        network = bool(spec.get("network"))
        pool = self.pool[network]
        if not pool:
            self.waiting.append(spec)
            if network:
                self.add_to_pool(True)
            return
        self.dispatch(pool.pop(0), spec)

    def dispatch(self, init, spec):
        job_id = spec["id"]
        try:
            ends = [socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3)]
            # The job reads stdin and writes stdout/stderr; each socket carries one direction only.
            ends[0][0].shutdown(socket.SHUT_RD)
            ends[0][1].shutdown(socket.SHUT_WR)
            for engine_end, job_end in ends[1:]:
                engine_end.shutdown(socket.SHUT_WR)
                job_end.shutdown(socket.SHUT_RD)
            if self.sandbox.cgroup_parents and init.cgroup is None:
                raise OSError("no cgroup could be made for the job")
            if init.cgroup is not None:
                # A rename is cheap (no migration); the job's name tells the engine which cgroup is whose.
                name = "job-" + init.cgroup[len("pool-"):]
                for parent in self.sandbox.cgroup_parents:
                    os.rename(parent + "/" + init.cgroup, parent + "/" + name)
                init.cgroup = name
                spec["cgroup_dirs"] = [parent + "/" + name for parent in self.sandbox.cgroup_parents]
            send(init.job_sock, spec, [job_end.fileno() for _, job_end in ends])
            init.job_sock.close()
            init.job = job_id
            self.jobs[job_id] = init
            send(self.control, {"t": "started", "id": job_id, "pid": init.pid, "cgroup": init.cgroup},
                 [engine_end.fileno() for engine_end, _ in ends])
            for pair in ends:
                for s in pair:
                    s.close()
        except Exception as e:
            send(self.control, {"t": "exited", "id": job_id, "error": "could not start the job: %s" % (e,)})

    def on_ready(self, init):
        for spec in self.waiting:
            if bool(spec.get("network")) == init.network:
                self.waiting.remove(spec)
                self.dispatch(init, spec)
                return
        if init.network:
            self.forget(init)  # networked inits are made on demand only
            os.kill(init.pid, signal.SIGKILL)
            return
        self.pool[False].append(init)

    def kill(self, job_id):
        init = self.jobs.get(job_id)
        if init is None:
            return
        try:
            send(init.sock, {"op": "kill"})
        except OSError:
            pass
        if init.kill_at is None:
            init.kill_at = time.monotonic() + 1.0

    def escalate_kills(self):
        now = time.monotonic()
        for init in list(self.jobs.values()):
            if init.kill_at is not None and now >= init.kill_at:
                # The init did not answer: kill its whole tree from here (a PID namespace dies with its init).
                for target in descendants(init.pid) + [init.pid]:
                    try:
                        os.kill(target, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                init.kill_at = now + 1.0

    def on_init(self, init):
        if init is None:
            return
        try:
            message, _ = recv(init.sock)
        except OSError:
            message = None
        if message is not None and init.pid is None and "pid" in message:
            init.pid = message["pid"]
            if init.ready_early:
                self.starting -= 1
                self.on_ready(init)
            return
        if message is not None and message.get("ready"):
            if init.pid is None:
                # In a PID namespace a helper reports the init's host pid, and may be slower than the init's own
                # "ready" on the same socket: hold it until the pid is known.
                init.ready_early = True
                return
            self.starting -= 1
            self.on_ready(init)
            return
        if init.pid is not None and init.job is None and init not in self.pool[init.network]:
            self.starting -= 1  # died while setting up
        self.forget(init)
        if init.job is None:
            # A pooled init that died before its job (its sandbox setup failed): say so; the refill retries.
            send(self.control, {"t": "warning", "message": (message or {}).get("error", "a job init died")})
            return
        report = {"t": "exited", "id": init.job}
        if message is None:
            report["error"] = "the job's init process died"
            report["lost"] = True
        else:
            report.update(message)
        send(self.control, report)

    def forget(self, init):
        self.by_sock.pop(init.sock.fileno(), None)
        for pool in self.pool.values():
            if init in pool:
                pool.remove(init)
        if init.job is not None:
            self.jobs.pop(init.job, None)
        init.sock.close()
        init.job_sock.close()

    def reap(self):
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def shutdown(self):
        for init in list(self.by_sock.values()):
            if init.pid is None:
                continue  # still setting up: it ends when its socket closes with this process
            try:
                os.kill(init.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os._exit(0)


def preload(modules):
    errors = {}
    for name in modules:
        try:
            __import__(name)
        except BaseException as e:
            errors[name] = "%s: %s" % (type(e).__name__, e)
    return errors


def main():
    config = json.loads(sys.argv[1])
    control = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    control.connect(config["control"])
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    # The engine (a .NET process) may pass ignored signals on; the zygote itself wants defaults for children.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    errors = preload(config.get("preload", []))
    threads = threading.active_count()
    zygote = Zygote(control, config)
    namespaces = probe(zygote.sandbox)
    zygote.sandbox.apply_probe(namespaces)
    gc.collect()
    if hasattr(gc, "freeze"):
        gc.freeze()  # keeps the preloaded objects' pages shared with every forked job
    send(control, {"t": "ready", "pid": os.getpid(), "python": sys.version.split()[0],
                   "executable": sys.executable, "preload_errors": errors, "threads": threads,
                   "namespaces": namespaces, "euid": os.geteuid()})
    if threads != 1:
        # Forking a multi-threaded process can deadlock the child; refuse rather than hang jobs.
        for message, _ in iter(lambda: recv(control), (None, [])):
            if message.get("op") == "spawn":
                send(control, {"t": "exited", "id": message["id"],
                               "error": "a preloaded module started threads; this runtime cannot fork jobs"})
        return
    zygote.run()


if __name__ == "__main__":
    main()
