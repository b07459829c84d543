# Runbox zygote: one per runtime. Started by the engine with the runtime's own interpreter, it imports the
# runtime's preload modules once, then forks a child per job. Python 3.8+; stdlib only.
#
# Processes:
#   zygote ── keeps a small pool of ready inits, forked ahead of demand into fresh namespaces
#     └─ init (pid 1 of its own PID namespace where available; serves jobs one at a time) ── per job:
#          └─ job: forked ahead as a standby in its own cgroup, mount and IPC namespaces; drops privileges,
#             limits itself, then runs the script in place (fast path) or execve()s.
#   When a job ends its init kills whatever the job left behind, reports the exit status, and forks the next
#   standby: a job costs one fork, not a new sandbox.
#
# Control channel: a SOCK_SEQPACKET Unix socket to the engine, one JSON object per message. Job stdio are
# socket pairs made here; the engine's ends travel to it with SCM_RIGHTS in the "started" message, so output
# flows from the job straight to the engine. So does a fourth, the job's status socket: its init writes the
# job's report there, straight to the engine, and tells the zygote only that the job is over.
#
# Offers: a ready init (up to the pool's size) is handed to the engine ahead of any job, with its job socket, its
# status socket and a set of stdio pairs. The engine then sends a job straight to the standby, so the zygote is
# not woken on the job's way in; it says "took" right after, so the zygote still knows which init runs which job
# (to kill it, or to report it lost). Jobs with no live offer, and networked ones, come as "spawn" as before.
#
# A job's spec (its environment and arguments: a caller's secrets) never enters the zygote's memory: a "spawn" names
# the job, its folder and whether it has a network, and its spec comes as a descriptor (a memfd) that the zygote hands
# on unread to the standby. Freed memory is not cleared, and every init forked later starts from a copy of the
# zygote's: an earlier job's spec parsed here was found in the memory of later jobs, of any caller.

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
MS_SLAVE = 1 << 19
MNT_DETACH = 2
AT_FDCWD = -100
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
MOVE_MOUNT_F_EMPTY_PATH = 4
SYS_OPEN_TREE = 428  # the same number on every architecture (Linux 5.2+)
SYS_MOVE_MOUNT = 429
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

# Where a fast-path job tells its init "ended, with this code" before it exits (see report_exit): a socket the
# init listens on in the root it builds, so the job holds no descriptor for it. Path inside the job's root.
EXIT_SOCKET = "/.runbox-exit"
_init_listens = False  # whether this process's init listens there (inherited by each job it forks)
_exit_pid = None       # the job's own process, once it started, when its init listens
_preset = frozenset()  # the limit writes already made in the standby's cgroup (see preset_limits)
_preloaded = ()        # the runtime's preload modules that imported (see warm_up)

_libc = None


def libc():
    global _libc
    if _libc is None:
        import ctypes
        try:
            _libc = ctypes.CDLL("libc.so.6", use_errno=True)  # glibc's name; find_library runs ldconfig (3 ms)
        except OSError:
            import ctypes.util
            _libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
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


def open_tree(path):
    """A detached copy of the mount at path (a bind mount belonging to no namespace yet), as a descriptor."""
    fd = libc().syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
    if fd < 0:
        import ctypes
        e = ctypes.get_errno()
        raise OSError(e, "open_tree %s: %s" % (path, os.strerror(e)))
    return fd


def move_mount(fd, target):
    """Attaches a detached mount (see open_tree) at target, in this process's mount namespace."""
    check(libc().syscall(SYS_MOVE_MOUNT, fd, b"", AT_FDCWD, target.encode(), MOVE_MOUNT_F_EMPTY_PATH),
          "move_mount %s" % target)


# ----------------------------------------------------------------------------------------------- messages

def send(sock, obj, fds=()):
    data = json.dumps(obj, separators=(",", ":")).encode()
    if fds:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.send(data)


def recv(sock, max_fds=0):
    """One message and the descriptors that came with it; (None, []) at end of stream."""
    data, fds = recv_bytes(sock, max_fds)
    if not data:
        return None, fds
    return json.loads(data), fds


def recv_bytes(sock, max_fds=0, size=MAX_MESSAGE):
    fds = array.array("i")
    if max_fds:
        data, ancdata, _flags, _addr = sock.recvmsg(size, socket.CMSG_SPACE(max_fds * fds.itemsize))
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    else:
        data = sock.recv(size)
    return data, list(fds)


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
        # The engine's own folder, above every folder it makes for a job: each job sees a fresh tmpfs there, holding
        # only its own folder (mounted by the standby, off the job's critical path; see enter_root).
        self.folders_root = config.get("folders_root")
        self.jobs_per_init = config.get("jobs_per_init", 200)
        # One folder per controller hierarchy; each pooled job gets a fresh cgroup in each.
        self.cgroup_parents = list(config.get("cgroup_parents", []))
        self.cgroup_fds = []  # the parents, opened by each init (see open_cgroup_parents)
        self.join_file = "cgroup.procs"  # what a standby writes to join its cgroup (see open_cgroup_parents)
        # The writes of the engine's default limits: each init makes them in a standby's cgroup ahead of its job, which
        # then writes only the limits of its own that differ (see preset_limits).
        self.cgroup_defaults = [tuple(write) for write in config.get("cgroup_defaults", [])]
        self.hostname = "runbox"
        self.ipc_uts = True
        self.net_per_job = False  # set in an init that cannot turn TIME_WAIT off in its network namespace
        # Whether the kernel hands out detached mounts (open_tree, Linux 5.2+) and jobs have a mount namespace: then
        # each init pivots into its root once, and a job's folder comes into its namespace as a detached mount, with
        # no host tree to unmount per job. Set by can_detach_mounts.
        self.detached_mounts = False
        self.pivoted = False  # in an init (and its jobs) that pivoted into its root: paths below are the root's own

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

    def inside(self, path):
        """Where a path of the job's root is from this process: the root is "/" once pivoted into."""
        return path if self.pivoted else self.root_dir + path

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
            try:
                forget_closed_connections()
            except OSError:
                self.net_per_job = True  # /proc/sys read-only (a container): then a namespace per job instead

    # Fresh for every job, in the job's own mount namespace: what a job writes outside its folder goes here.
    TMP_DIRS = (("/tmp", "1777"), ("/var/tmp", "1777"), ("/dev/shm", "1777"))

    def under_tmp(self, path):
        return any(path == tmp or path.startswith(tmp + "/") for tmp, _ in self.TMP_DIRS)

    def build_root(self):
        """Once per init (pid 1 of the new PID namespace): a tmpfs root with the system read-only. Each job copies
        it into a mount namespace of its own (enter_job), so nothing a job does here outlives it."""
        if not self.mount_ns:
            return
        # Slave, not private: a mount the engine makes on the host later (a job folder's own tmpfs) still reaches
        # the jobs; nothing mounted in here flows back to the host.
        mount(None, "/", None, MS_REC | MS_SLAVE)
        root = self.root_dir
        mount("runbox", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=16m")
        for path in ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc"] + list(self.ro_paths):
            if not self.under_tmp(path):
                self.bind_readonly(path, root + path)
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
        for path, _ in self.TMP_DIRS:
            os.makedirs(root + path, exist_ok=True)
        if self.detached_mounts:
            # A read-only path under /tmp goes on top of each job's fresh /tmp; once the host's tree is gone, from here.
            for path in self.ro_paths:
                if self.under_tmp(path):
                    self.bind_readonly(path, root + self.HIDDEN + path)
        os.makedirs(root + "/.oldroot", exist_ok=True)

    # Where build_root keeps, inside the root, what each job binds again on top of its fresh /tmp (see enter_job).
    HIDDEN = "/.runbox-ro"

    def pivot_once(self):
        """In an init whose jobs get their folders as detached mounts: into the root for good, the host's tree
        unmounted once here rather than in each job (an unmount waits for an RCU grace period, which interrupts every
        CPU). Each job's mount namespace is then a copy of this small tree."""
        if not self.detached_mounts:
            return
        pivot_root(self.root_dir, self.root_dir + "/.oldroot")
        os.chdir("/")
        umount2("/.oldroot", MNT_DETACH)
        self.pivoted = True

    def open_cgroup_parents(self):
        """The cgroup parents as descriptors, opened before pivot_once: the job cgroups are made, joined, limited
        and removed relative to them, wherever this process's root is.

        Under cgroup v1 a standby joins its cgroup through "tasks", as one thread (it has no other), not through
        "cgroup.procs": moving a whole process write-locks the kernel's global threadgroup lock, which first waits
        for an RCU grace period (7-23 ms measured here) while holding the cgroup mutex, and so held up every cgroup
        made, renamed or removed meanwhile, a job's on its way in among them. Moving the calling thread alone takes
        0.1 ms."""
        self.cgroup_fds = [os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) for parent in self.cgroup_parents]
        if self.cgroup_fds and all(os.path.exists(os.path.join(parent, "tasks")) for parent in self.cgroup_parents):
            self.join_file = "tasks"

    def enter_job(self, network):
        """In each standby job process, ahead of its job: namespaces of its own for what a job could leave behind
        (mounts, System V IPC), and a fresh /tmp, /var/tmp and /dev/shm. The network namespace is the init's, as
        the PID namespace is: a job's sockets die with its processes, and its closed connections are not kept (see
        forget_closed_connections); a namespace per job cost about 1.2 ms of CPU (made, then torn down by a kernel
        worker) for nothing more."""
        flags = 0
        if self.mount_ns:
            flags |= CLONE_NEWNS
        if self.namespaces and self.ipc_uts:
            flags |= CLONE_NEWIPC
        if self.net_per_job and self.net_ns and not network:
            flags |= CLONE_NEWNET
        if flags:
            unshare(flags)
        if flags & CLONE_NEWNET:
            loopback_up()
        if not self.mount_ns:
            return
        for path, mode in self.TMP_DIRS:
            mount("tmpfs", self.inside(path), "tmpfs", MS_NOSUID | MS_NODEV, "mode=%s,size=%s" % (mode, self.tmp_size))
        # A read-only path under /tmp (a venv in a data folder there) goes on top of the fresh /tmp, not beneath it.
        for path in self.ro_paths:
            if self.under_tmp(path):
                self.bind_readonly(self.HIDDEN + path if self.pivoted else path, self.inside(path))
        if self.folders_root:
            self.hide(self.folders_root)

    def hide(self, folder):
        """A fresh tmpfs over folder, so the job sees there nothing but what it is given."""
        os.makedirs(self.inside(folder), exist_ok=True)
        mount("jobs", self.inside(folder), "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=64k")

    def hidden(self, folder):
        """Whether folder lies in the tmpfs the standby put over the engine's folder (see hide)."""
        root = self.folders_root
        return bool(root) and folder.startswith(root.rstrip("/") + "/")

    @staticmethod
    def bind_readonly(path, target):
        """path, read-only and without setuid, at target (a symlink is copied as one)."""
        if not os.path.lexists(path):
            return
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

    def enter_root(self, workdir, folder):
        """At job time, in the job's own mount namespace: mount its folder, then the root read-only. Pivoted already
        (see pivot_once), the folder is the detached mount the zygote made of it and nothing is unmounted; otherwise
        the folder is bound from the host's tree, and the job pivots into the root and unmounts that tree itself."""
        if not self.mount_ns:
            return
        if self.pivoted and folder is None:
            raise OSError("no folder came with the job")
        # The folders above the job's own are a fresh tmpfs too: the shared root keeps no trace of earlier jobs. A
        # folder of the engine's lies in the one the standby mounted; a folder of the caller's gets one here.
        parent = os.path.dirname(workdir.rstrip("/"))
        if not self.hidden(workdir) and parent not in ("", "/"):
            self.hide(parent)
        target = self.inside(workdir)
        os.makedirs(target, exist_ok=True)
        if self.pivoted:
            move_mount(folder, target)
        else:
            mount(workdir, target, None, MS_BIND)
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV)
        if not self.pivoted:
            pivot_root(self.root_dir, self.root_dir + "/.oldroot")
            os.chdir("/")
            umount2("/.oldroot", MNT_DETACH)
        mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def forget_closed_connections():
    """In an init's own network namespace: no TIME_WAIT. A TCP port a job closed would otherwise stay taken for a
    minute, and the next job's bind(2) of it (without SO_REUSEADDR) would fail. Over a private loopback there are
    no stray segments for TIME_WAIT to guard against."""
    write_file("/proc/sys/net/ipv4/tcp_max_tw_buckets", b"0")


def loopback_up():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        import fcntl
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sh14x", b"lo", IFF_UP))
    finally:
        s.close()


def probe(sandbox):
    """Which namespaces this host lets us create, and whether the job's syscall filter holds; tried in throwaway children
    so nothing here changes."""
    results = {"seccomp": probe_seccomp()}
    if not sandbox.namespaces:
        return results
    for name, flag in (("network", CLONE_NEWNET), ("mount", CLONE_NEWNS), ("pid", CLONE_NEWPID),
                       ("ipc", CLONE_NEWIPC | CLONE_NEWUTS)):
        def attempt(flag=flag):
            unshare(flag)
            if flag == CLONE_NEWNS:
                mount(None, "/", None, MS_REC | MS_PRIVATE)
                mount("probe", sandbox.root_dir, "tmpfs", 0, "size=1m")
            if flag == CLONE_NEWPID:
                child = os.fork()
                if child == 0:
                    os._exit(0 if os.getpid() == 1 else 1)
                _, status = os.waitpid(child, 0)
                return "1" if status == 0 else "0"
            return "1"
        results[name] = in_child(attempt)
    return results


def in_child(attempt):
    """What attempt() answers ("1", or "0" and why) when run in a throwaway child; "0" and the exception if it raised."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            answer = attempt().encode()
        except Exception as e:
            answer = b"0" + str(e).encode()[:200]
        os.write(w, answer)
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
    return answer.decode(errors="replace") or "0the probe died"


def can_detach_mounts(sandbox):
    """Whether this kernel makes detached mounts (open_tree, Linux 5.2+) for us: tried once on the root's folder."""
    if not sandbox.mount_ns or not sandbox.root_dir:
        return False
    try:
        os.close(open_tree(sandbox.root_dir))
        return True
    except OSError:
        return False


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


# ------------------------------------------------------------------------------------------- syscall filter

# What a job may not call, and why: each is state or kernel surface that the namespaces above do not cover.
#   keyctl, add_key, request_key: the kernel's keyrings are not namespaced. A slot's uid has the same user keyring
#     (and persistent keyring) in every job, of every engine on the host: a key one job adds, the next job of that uid
#     reads. ENOSYS, as on a kernel without keys.
#   a new user namespace (unshare or clone with CLONE_NEWUSER): it gives the job every capability over namespaces of its
#     own (a network namespace with CAP_NET_ADMIN reaches nf_tables, a mount namespace mounts filesystems), the kernel
#     code most local privilege escalations of recent years went through. EPERM, as where user namespaces are off.
#     clone3 passes its flags in memory a filter cannot read: ENOSYS, on which the C library falls back to clone.
#   io_uring, bpf, perf_event_open, userfaultfd: kernel surface no job needs (the last three are also off by sysctl
#     on some hosts, not all). ENOSYS: libuv (Node.js) then does its file I/O without io_uring.
#   syslog: the kernel's log (other jobs' OOM kills, the host's devices), readable where kernel.dmesg_restrict is 0. ENOSYS.
#   sockets of any family but AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK (socket, socketpair: EAFNOSUPPORT, as where the
#     kernel lacks the family). AF_VSOCK is not namespaced: on a virtual machine a job's vsock socket reached the
#     hypervisor's host (CID 2) whatever the job's network namespace; the rest (AF_ALG, AF_TIPC, AF_RDS...) are kernel
#     code no job needs, loaded on demand on some hosts.
#   Any other architecture's calls (i386 through int 0x80, x32 on x86_64): their numbers differ, so the checks above
#     would not see them. ENOSYS.
_SECCOMP_ARCH = {  # AUDIT_ARCH_*, then the numbers of keyctl, add_key, request_key, io_uring_setup, _enter, _register,
    # bpf, perf_event_open, userfaultfd, clone3, syslog (all ENOSYS), then unshare and clone (checked for CLONE_NEWUSER),
    # then socket and socketpair (checked for the family)
    "x86_64": (0xC000003E, (250, 248, 249, 425, 426, 427, 321, 298, 323, 435, 103), (272, 56), (41, 53)),
    "aarch64": (0xC00000B7, (219, 217, 218, 425, 426, 427, 280, 241, 282, 435, 116), (97, 220), (198, 199)),
}.get(os.uname().machine)
CLONE_NEWUSER = 0x10000000
SOCKET_FAMILIES = (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6, 16)  # 16: AF_NETLINK (getifaddrs, Node's os.networkInterfaces)


def seccomp_filter():
    """The job's syscall filter as classic BPF (struct sock_filter entries), or None on an architecture not known."""
    if _SECCOMP_ARCH is None:
        return None
    arch, denied, with_flags, with_family = _SECCOMP_ARCH
    ld, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, JSET, JGE, BPF_RET|K
    allow, enosys, eperm = 0x7FFF0000, 0x00050000 | errno.ENOSYS, 0x00050000 | errno.EPERM  # SECCOMP_RET_*
    eafnosupport = 0x00050000 | errno.EAFNOSUPPORT
    code = []  # (op, jump-true label, jump-false label, k); labels are resolved below
    code.append((ld, None, None, 4))                       # seccomp_data.arch
    code.append((jeq, None, "enosys", arch))
    code.append((ld, None, None, 0))                       # seccomp_data.nr
    if arch == 0xC000003E:
        code.append((jge, "enosys", None, 0x40000000))     # x32
    for nr in denied:
        code.append((jeq, "enosys", None, nr))
    for nr in with_flags:
        code.append((jeq, "flags", None, nr))
    for nr in with_family:
        code.append((jeq, "family", None, nr))
    code.append((ret, None, None, allow))
    labels = {"flags": len(code)}
    code.append((ld, None, None, 16))                      # the low word of args[0]: the flags of both
    code.append((jset, "eperm", None, CLONE_NEWUSER))
    code.append((ret, None, None, allow))
    labels["family"] = len(code)
    code.append((ld, None, None, 16))                      # the low word of args[0]: the family of both
    for family in SOCKET_FAMILIES:
        code.append((jeq, "allow", None, family))
    code.append((ret, None, None, eafnosupport))
    labels["allow"] = len(code)
    code.append((ret, None, None, allow))
    labels["eperm"] = len(code)
    code.append((ret, None, None, eperm))
    labels["enosys"] = len(code)
    code.append((ret, None, None, enosys))
    out = b""
    for i, (op, jt, jf, k) in enumerate(code):
        offset = lambda label: 0 if label is None else labels[label] - i - 1
        out += struct.pack("HBBI", op, offset(jt), offset(jf), k)
    return out


_filter_pending = False  # in a standby whose filter waits for no_new_privs (see job_standby)
_seccomp_program = None  # (struct sock_fprog, its filter): made once in the zygote (probe_seccomp), inherited by all


def seccomp_program():
    """The job's syscall filter ready for prctl, or None on an architecture not known. Made in the zygote, not in each
    standby: the program is the same for every job."""
    global _seccomp_program
    if _seccomp_program is None and _SECCOMP_ARCH is not None:
        import ctypes

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

        code = seccomp_filter()
        _seccomp_program = (SockFprog(len(code) // 8, code), code)
    return _seccomp_program


def probe_seccomp():
    """"1" when the job's syscall filter attaches and refuses what it should (keyctl), else "0" and why."""
    if seccomp_program() is None:
        return "0no filter is written for this machine's architecture (%s)" % os.uname().machine

    def attempt():
        # As a job gets it: in the standby, or (not root) once no_new_privs is set.
        if not install_seccomp():
            prctl(PR_SET_NO_NEW_PRIVS, 1)
            check(0 if install_seccomp() else -1, "the kernel refused the filter")
        import ctypes
        refused = libc().syscall(_SECCOMP_ARCH[1][0], 0, 0, 0, 0) == -1 and ctypes.get_errno() == errno.ENOSYS  # keyctl
        return "1" if refused else "0the filter let keyctl through"
    return in_child(attempt)


def install_seccomp():
    """Installs the job's syscall filter (see seccomp_filter); it holds across execve and in every child. Done in the
    standby, still root, ahead of its job: attaching a filter took about 0.1 ms (the kernel compiles it), and nothing
    the standby does after it (mounts, cgroup writes, setuid) is in it. Where the kernel has no seccomp filters the job
    runs without, as it does without no_new_privs. False when it is not attached."""
    program = seccomp_program()
    if program is None:
        return False
    import ctypes
    return libc().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program[0]), 0, 0) == 0


def become_job_user(spec):
    uid, gid = spec.get("uid"), spec.get("gid")
    if uid is None or os.geteuid() != 0:
        return
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


# sched_setattr(2) arguments (struct sched_attr, version 1) for a normal process: a slice of 0.1 ms, or the default.
SLICE_SHORT = struct.pack("IIQiIQQQII", 56, 0, 0, 0, 0, 100000, 0, 0, 0, 0)
SLICE_DEFAULT = struct.pack("IIQiIQQQII", 56, 0, 0, 0, 0, 0, 0, 0, 0, 0)
_SCHED_SETATTR = {"x86_64": 314, "aarch64": 274}.get(os.uname().machine)


def set_slice(attr):
    """How long this process may keep its CPU once another wants it (Linux 6.12+; older kernels ignore it). An init
    asks for a short slice while its job runs: woken by the job's report, it takes its CPU at once, rather than wait
    for the slice of whatever runs there, most often the work a job before left (its teardown, the next standby's
    warm-up): up to 1.5 ms with 2 CPUs. It takes the default back before it forks the next standby, so jobs run with
    the default. (A standby asking for one too, and the job then taking the default back, was slower: a process that
    lengthens its own slice makes way for what waits, and the job did that on its way in.)"""
    if _SCHED_SETATTR is not None:
        libc().syscall(_SCHED_SETATTR, 0, attr, 0)  # a refusal changes nothing: the default slice stays


def job_standby(control, sandbox, cgroup_procs, channel, network):
    """The pre-forked job process: does what does not depend on the job, then waits for it. Tells its init "R"
    when ready and "J" when its job arrived. Never returns.

    The init did the rest once for all its jobs (see become_job_parent): what is done here is done per job, and
    every Python object made here costs page copies, since this process shares its pages with the init."""
    joined = None  # or why joining failed
    try:
        # Joining a cgroup is done here, off the job's critical path (see Sandbox.open_cgroup_parents).
        for parent, path in zip(sandbox.cgroup_parents, sandbox.cgroup_fds) if cgroup_procs else ():
            try:
                write_file(cgroup_procs, b"0", parent=path)
            except OSError as e:
                joined = "%s/%s: %s" % (parent, os.fsdecode(cgroup_procs), e)
        os.setpgid(0, 0)
        # The cgroups' parents stay open until the job has written its limits (job_start).
        close_all_but(control.fileno(), channel.fileno(), *sandbox.cgroup_fds)
        reseed()
        sandbox.enter_job(network)
        warm_up()
        main = prepare_in_place()
        global _filter_pending
        # Not root (no CAP_SYS_ADMIN), the kernel takes a filter only once no_new_privs is set: then in job_start.
        _filter_pending = not install_seccomp()
        channel.send(b"R")
        spec, fds = recv(control, max_fds=5)
        if spec is None:
            os._exit(0)
        # When the job began, timed here: the init hears "J" only after the job (see hear_standby), and the engine
        # hears of the start later still (a 60 ms job once showed wall_ms 0 there).
        channel.send(b"J" + struct.pack("=q", time.monotonic_ns()))
        if "spec_fd" in spec:
            spec = read_spec(fds.pop(spec["spec_fd"]), spec)
        # The fourth, when the init pivoted, is the job's folder as a detached mount.
        folder = fds[3] if len(fds) > 3 else None
        close_fds(*fds[4:])
        fds = fds[:3]
        control.close()
        channel.close()
    except BaseException:
        os._exit(127)
    job_start(spec, fds, folder, sandbox, joined, main)


def read_spec(fd, message):
    """A job's spec from the memfd the engine wrote it to (see the zygote's spawn), with what the zygote adds in
    message (the name of the job's cgroup). Only the standby reads it: the zygote never holds a job's spec."""
    try:
        size = os.fstat(fd).st_size
        chunks = []
        while size > 0:
            chunk = os.pread(fd, size, sum(map(len, chunks)))
            if not chunk:
                break
            chunks.append(chunk)
            size -= len(chunk)
    finally:
        os.close(fd)
    spec = json.loads(b"".join(chunks))
    if "cgroup_name" in message:
        spec["cgroup_name"] = message["cgroup_name"]
    return spec


def become_job_parent():
    """Once in each init: the state every job starts from, inherited by each standby it forks."""
    reset_signals()
    atexit._clear()  # the zygote's own handlers are not the job's
    make_stdio()  # bound to fds 0-2 by number: valid once a job's sockets are dup'ed there


def write_file(path, value, parent=None):
    """A control file written with one write(2): no Python file object, so few pages written. A relative path is
    taken from the directory descriptor parent."""
    fd = os.open(path, os.O_WRONLY, dir_fd=parent)
    try:
        os.write(fd, value if isinstance(value, bytes) else value.encode())
    finally:
        os.close(fd)


def write_limit(sandbox, cgroup, write):
    """One [parent index, file, value] of the engine's limit writes, into cgroup below that parent."""
    index, name, value = write
    write_file(cgroup + "/" + name, value, parent=sandbox.cgroup_fds[index])


def preset_limits(sandbox, cgroup):
    """In the init, before its standby joins the fresh cgroup: the engine's default limits, so a job with the
    defaults writes none on its critical path. Returns the writes made."""
    made = set()
    for write in sandbox.cgroup_defaults if cgroup else ():
        try:
            write_limit(sandbox, cgroup, write)
            made.add(write)
        except OSError:
            pass  # then the job writes it
    return frozenset(made)


def write_limits(spec, cgroup, sandbox):
    """The job's cgroup limits that its init did not preset. A write refused for its order (cgroup v1 keeps
    memory.limit_in_bytes at most memory.memsw.limit_in_bytes, so raising both takes memsw first) is retried once
    the others are made."""
    refused = []
    for write in map(tuple, spec.get("cgroup_limits", [])):
        if write in _preset:
            continue
        try:
            write_limit(sandbox, cgroup, write)
        except OSError:
            refused.append(write)
    for write in refused:
        try:
            write_limit(sandbox, cgroup, write)
        except OSError as e:
            if e.errno == errno.EBUSY and write[1].startswith("memory."):
                # The kernel will not set a limit below what the cgroup already holds (the standby's own pages), and
                # without swap it cannot reclaim them: the job cannot start within it.
                raise OSError(e.errno, "the memory limit of %s bytes is below what the job's process holds as it "
                                       "starts; give the job more memory" % write[2]) from None
            raise


def job_start(spec, script_fds, folder, sandbox, joined, main):
    """Becomes the job: its cgroups, folder and root (while still root), stdio, limits, uid, then its program.
    Never returns."""
    global _exit_pid
    try:
        if _init_listens:
            _exit_pid = os.getpid()
        # Stdio first, so that a setup failure below is reported on the job's own stderr.
        for i, fd in enumerate(script_fds):
            os.dup2(fd, i)
        for fd in script_fds:
            if fd > 2:
                os.close(fd)
        cgroup = spec.get("cgroup_name")
        if cgroup and joined is not None:
            raise OSError("could not join the job's cgroup (%s), so its limits cannot hold" % joined)
        # Limits go on before the job's own code runs; the files are root's, out of the job's reach.
        if cgroup:
            write_limits(spec, cgroup, sandbox)
        close_fds(*sandbox.cgroup_fds)
        sandbox.enter_root(spec["cwd"], folder)
        close_fds(folder)
        apply_limits(spec)
        if spec.get("no_new_privs", True):
            try:
                prctl(PR_SET_NO_NEW_PRIVS, 1)
            except OSError:
                pass
        if _filter_pending:
            install_seccomp()
        become_job_user(spec)
        os.chdir(spec["cwd"])
        os.umask(0o022)
        env = spec.get("env", {})
        if spec["mode"] == "exec":
            argv = spec["argv"]
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # an ignored signal stays ignored across execve
            os.execve(argv[0], argv, env)
        # Changing uid made the process undumpable, so its own /proc files (environ, mem) became root's; a program
        # exec'd is dumpable again, and so is `python script.py`. No core is written (RLIMIT_CORE is 0).
        prctl(PR_SET_DUMPABLE, 1)
        run_in_place(spec, env, main)
    except BaseException:
        try:
            os.write(2, ("runbox: could not start the job: %s\n" % (sys.exc_info()[1],)).encode(errors="replace"))
        finally:
            os._exit(127)


def warm_up():
    """Does, ahead of the job, the first steps of every job: decode a spec, compile and run code, print, the calls
    its end makes (see report_exit), and the imports of the runtime's preloaded modules. This process shares its
    pages with its init until it writes them, and each first write costs a page copy (microseconds in a VM, hundreds
    per job); taken here, those copies are off the job's critical path. Prints nothing."""
    try:
        json.loads('{"op":"spawn","id":"0123456789abcdef","mode":"script","argv":["/w/main.py"],"cwd":"/w",'
                   '"env":{"PATH":"/usr/bin:/bin"},"rlimits":{"core":0},"uid":1,"gid":1}')
        set_environ(dict(os.environ))  # changes nothing, but runs what a job's environment runs
        os.environ["RUNBOX_WARM_UP"] = "1"
        del os.environ["RUNBOX_WARM_UP"]
        os.path.dirname(os.path.abspath("/w/main.py"))
        with open("/dev/null", "rb") as f:
            f.read()
        exec(compile("x = 1\n", "/w/main.py", "exec", dont_inherit=True), {"__builtins__": builtins})
        print("", end="")
        threading.active_count()
        flush_std()
        resource.getrusage(resource.RUSAGE_SELF)
        resource.getrusage(resource.RUSAGE_CHILDREN)
        socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).close()
        for name in _preloaded:
            # What a script's `import` of a preloaded module touches (the module, its spec): in a job, the first
            # import of 20 preloaded modules took 0.21-0.27 ms, nearly all page copies; after this, 0.04-0.07 ms.
            __import__(name)
    except BaseException:
        pass  # a runtime may break even print (its smoke test must still run and say so)


def prepare_in_place():
    """What run_in_place sets up that no job changes: the signals as `python` sets them at start (an exec'd job
    puts SIGPIPE back), and the __main__ module without its file. Done in the standby, off the job's critical
    path; returns the module."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as CPython does at start-up: BrokenPipeError, not death
    main = types.ModuleType("__main__")
    main.__dict__.update({"__file__": None, "__builtins__": builtins, "__cached__": None, "__package__": None,
                          "__spec__": None, "__annotations__": {}})  # __file__ is set in its place at job time
    sys.modules["__main__"] = main
    return main


def set_environ(env):
    """os.environ (and the C library's environment) as env. Only what differs from this process's own is changed:
    a job's environment is mostly the zygote's base, and each putenv or unsetenv costs page copies here."""
    for key in [key for key in os.environ if key not in env]:
        del os.environ[key]
    for key, value in env.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


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


def run_in_place(spec, env, main):
    """The fast path: behave like `python script.py` inside this already-warm interpreter (see prepare_in_place)."""
    set_environ(env)
    path = spec["argv"][0]
    sys.argv = list(spec["argv"])
    sys.path[0] = os.path.dirname(os.path.abspath(path))
    main.__file__ = path
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
    report_exit(code)
    os._exit(code)


def report_exit(code):
    """Tells the init the job's exit code ahead of the exit itself: freeing the job's address space and its
    namespaces takes a millisecond or two that the caller need not wait for. Stdio are closed first, so the job's
    output has ended when its report arrives. The init takes it only from the job's own process (its peer
    credentials say which): a child forked by the script ends the same way but is not the job.

    Then the job waits, rather than exit, until its init has reported and killed it (or turned the report down by
    closing the connection): the init is most often woken on this process's CPU, and an exit there would make it
    wait for the kernel to free this process's memory first. It waits a second at most: a report the init never
    accepts (it stopped listening for this job, see ExitReports) held the job until its wall limit, as timed out."""
    if _exit_pid is None or os.getpid() != _exit_pid:
        return
    try:
        mine = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        for fd in (0, 1, 2):
            os.close(fd)
        report = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Not blocking: where the init stopped listening (see ExitReports) its backlog may be full, and a blocking
        # connect would wait there for ever; then the init hears of the end from the exit.
        report.setblocking(False)
        report.connect(EXIT_SOCKET)
        report.settimeout(1.0)
        report.send(b"X %d %d %d %d" % (
            code, int((mine.ru_utime + children.ru_utime) * 1e6), int((mine.ru_stime + children.ru_stime) * 1e6),
            max(mine.ru_maxrss, children.ru_maxrss)))
        report.recv(1)
    except OSError:
        pass  # the init then learns of the end from the exit itself


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
        # With no other thread and no thread hook there is nothing to wait for (and its work costs page copies).
        if threading.active_count() > 1 or getattr(threading, "_threading_atexits", None):
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
    """Random values differ between jobs: the random module reseeds itself in every forked child (its at-fork
    hook, Python 3.7+); numpy, when preloaded, does not."""
    if not hasattr(os, "register_at_fork"):
        random.seed()
    np = sys.modules.get("numpy")
    if np is not None:
        try:
            np.random.seed(None)
        except Exception:
            pass


# -------------------------------------------------------------------------------------------------- init

class Init:
    """The zygote's view of one init: a sandbox that serves jobs one at a time."""

    def __init__(self, sock, job_sock, network):
        self.pid = None            # host pid; reported by the init, or by its helper in PID-namespace mode
        self.sock = sock
        self.job_sock = job_sock   # a job's spec goes through here straight to the init's standby job process
        self.ref = None            # names the init in offers to the engine and in its answers
        self.network = network
        self.state = "starting"    # starting → ready (or offered) → busy → preparing → ready → ...
        self.job = None
        self.seq = None            # which of its jobs the init is on; a kill names it
        self.cgroup = None         # the standby's cgroup name in every hierarchy, when cgroups are in use
        self.status_fd = None      # the engine's end of the next job's status socket, sent by the init with "ready"
        self.early = None          # a ready message that came before the host pid
        self.kill_at = None        # when to escalate a requested kill to SIGKILL
        self.idle_since = None


def spawn_init(sandbox, network, cgroup_base):
    """Forks an init into fresh namespaces. Returns (pid, init socket, job socket); the init reports its
    host pid, then ready once its standby job process waits on the job socket."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    job_parent, job_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    flush_std()
    pid = os.fork()
    if pid == 0:
        parent.close()
        job_parent.close()
        try:
            close_all_but(child.fileno(), job_child.fileno())
            os.setsid()
            sandbox.enter(network)
            if sandbox.flags(network) & CLONE_NEWPID:
                # The first child after unshare(CLONE_NEWPID) is pid 1 of the new namespace: it is the init.
                # This process only reports its host pid and leaves; the zygote (a subreaper) adopts it.
                inner = os.fork()
                if inner == 0:
                    init_main(child, job_child, sandbox, cgroup_base, network)
                send(child, {"pid": inner})
                os._exit(0)
            send(child, {"pid": os.getpid()})
            init_main(child, job_child, sandbox, cgroup_base, network)
        except BaseException as e:
            try:
                send(child, {"error": "init setup failed: %s" % (e,)})
            finally:
                os._exit(1)
    child.close()
    job_child.close()
    return pid, parent, job_parent


def init_main(sock, job_sock, sandbox, cgroup_base, network):
    """Pid 1 of a sandbox (or a subreaper where PID namespaces are missing). Builds what its jobs share once, then
    serves them one at a time, so a job costs one fork, not a new sandbox. Never returns.

    Per job: a fresh cgroup and a standby job process forked ahead of the job (the zygote hands the job straight to
    it), "ready"; then waits for the job to end, a "kill" or "exit" message, or the zygote's end (EOF); kills
    whatever the job left behind; reports. Retires after jobs_per_init jobs, so nothing that slipped past the
    cleanup can pile up."""
    try:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
        sandbox.open_cgroup_parents()
        sandbox.build_root()
        become_job_parent()
        listener = listen_for_exits(sandbox)
        sandbox.pivot_once()
    except BaseException as e:
        send_and_exit(sock, {"error": "init setup failed: %s" % (e,)})
    seq = 0
    while True:
        seq += 1
        job = InitJob(sock, seq, seq >= sandbox.jobs_per_init)
        try:
            going_on = serve_job(job, job_sock, sandbox, cgroup_base, network, listener)
        except BaseException as e:
            kill_descendants(None, Usage())
            job.report({"error": "job setup failed: %s" % (e,)})
            going_on = False
        if not going_on:
            os._exit(0)  # retired by the zygote, the zygote is gone, or the report was its last


def listen_for_exits(sandbox):
    """Where the init's fast-path jobs say they ended (see report_exit): a socket in the root it built. Only as
    pid 1 of a PID namespace, where one kill(-1) ends every process of the job at once, so the report can go out
    before the kernel has torn them down. Returns the listening socket, or None."""
    global _init_listens
    if not sandbox.mount_ns or os.getpid() != 1:
        return None
    path = sandbox.root_dir + EXIT_SOCKET
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    # Bound by its name from inside the root: a socket path holds 107 bytes, and the full one grows with the work
    # root (a work root of 60 bytes failed every job with "init setup failed: AF_UNIX path too long").
    here = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.chdir(sandbox.root_dir)
        listener.bind(EXIT_SOCKET[1:])
    finally:
        os.fchdir(here)
        os.close(here)
    os.chmod(path, 0o666)  # jobs run as their slot's uid; the peer's credentials decide whose report counts
    listener.listen(8)
    listener.setblocking(False)
    _init_listens = True
    return listener


class InitJob:
    """One job as its init sees it, and where its report goes."""

    def __init__(self, sock, seq, last):
        self.sock = sock
        self.seq = seq
        self.last = last          # the init's last job: it exits after this one's report
        self.status_fd = None     # the init's end of the job's status socket to the engine (see serve_job)
        self.ready = False        # the standby said it waits for its job ("R")
        self.has_job = False
        self.started_ns = None    # CLOCK_MONOTONIC when the standby got its job (its "J"): the job's wall time from there
        self.reported = False

    def report(self, status):
        """Sends the job's report straight to the engine through its status socket when there is one (one line of
        JSON), and to the zygote, which forwards it only if it did not go straight. True if the init goes on after
        it. The status socket stays open until close(): its end tells the engine that every process of the job
        is reaped, so its slot (and uid) can go to the next job."""
        if self.reported:
            return not self.last
        self.reported = True
        if "error" in status:
            self.last = True
        if self.status_fd is not None:
            data = json.dumps(status, separators=(",", ":")).encode() + b"\n"
            try:
                if os.write(self.status_fd, data) == len(data):
                    status["direct"] = True
            except OSError:
                pass
        if self.last:
            status["last"] = True
        send(self.sock, status)
        return not self.last

    def close(self):
        close_fds(self.status_fd)
        self.status_fd = None


def serve_job(job, job_sock, sandbox, cgroup_base, network, listener):
    """One job, up to its report and the clean-up after it. False when the init is to exit."""
    global _preset
    seq = job.seq
    set_slice(SLICE_DEFAULT)  # what follows does not wait on a job; the standby inherits it (see set_slice)
    cgroup, warning = make_cgroups(sandbox, cgroup_base and "%s-%d" % (cgroup_base, seq))
    _preset = preset_limits(sandbox, cgroup)  # inherited by the standby
    procs = os.fsencode(cgroup + "/" + sandbox.join_file) if cgroup else None  # made here: the standby makes little
    channel, standby_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    # The job's status socket: the engine's end goes with "ready" to the zygote, which hands it to the engine with
    # the job. Made here, ahead, so nothing wakes the init while its job starts; the job never holds it.
    engine_end, status_end = one_way_pair()
    job.status_fd = status_end.detach()
    flush_std()
    pid = fork_lean()
    if pid == 0:
        channel.close()
        engine_end.close()
        os.close(job.status_fd)
        job_standby(job_sock, sandbox, procs, standby_end, network)
    standby_end.close()
    # The job's end wakes the loop through a pidfd: no SIGCHLD handler here for every job to undo.
    exited = open_pidfd(pid)
    usage = Usage()
    exits = ExitReports(listener, pid)
    killed = early = False
    job_status = None
    set_slice(SLICE_SHORT)  # woken by the job's report (see set_slice)
    while job_status is None:
        # Once ready, the standby is not heard until the job's end: its "J" waits in the channel (see hear_standby).
        listened = channel if not job.ready else None
        watched = [x for x in (job.sock, listened, exited) if x is not None] + exits.watched(job.ready)
        ready, _, _ = select.select(watched, [], [], None if exited is not None else 0.05)
        if listened is not None and listened in ready:
            if not hear_standby(channel, job, cgroup, warning, engine_end):
                channel.close()
                channel = None
        heard = exits.hear(ready, usage)
        if heard is not None:
            job_status, early = heard, True
            job.has_job = True  # only the job's own process reports, once it has its job
        if job.sock in ready:
            message, _ = recv(job.sock)
            if message is None or message.get("op") == "exit":
                kill_descendants(None, usage)
                remove_cgroups(sandbox, cgroup)
                close_fds(exited)
                if channel is not None:
                    channel.close()
                engine_end.close()
                exits.close()
                job.close()
                return False
            # A kill meant for an earlier job (it crossed that job's report) is ignored.
            if message.get("op") == "kill" and message.get("seq") == seq:
                killed = job.has_job = True
                job_status = kill_descendants(pid, usage)
                if job_status is None:
                    job_status = signal.SIGKILL  # reaped while killing: it died by SIGKILL
        if job_status is None:
            try:
                done, wait_status, rusage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                done, wait_status, rusage = pid, signal.SIGKILL, None
            if done:
                usage.add(rusage)
                job_status = wait_status
    ended_ns = time.monotonic_ns()
    exits.close()
    engine_end.close()
    if channel is not None:
        # Whether the standby had its job: its "J" is read now (see hear_standby).
        channel.setblocking(False)
        try:
            while job.started_ns is None and hear_standby(channel, job, cgroup, warning, None):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        channel.close()
    close_fds(exited)
    if not job.has_job:
        kill_descendants(None, usage)
        drain(job_sock)
        remove_cgroups(sandbox, cgroup)
        going_on = job.report({"error": "the standby job process ended before its job (wait status %d)" % job_status})
        job.close()
        return going_on
    status = {"status": job_status, "killed": killed}
    if job.started_ns is not None:
        status["wall_us"] = max(0, ended_ns - job.started_ns) // 1000
    if early:
        # The job said it ended: everything of it stops now (from pid 1, one kill(-1) reaches every process, even one
        # forking), so no code of the job runs once the report is out; it is killed after the report, so the kernel
        # tears its processes down while the engine already has the result.
        try:
            os.kill(-1, signal.SIGSTOP)
        except ProcessLookupError:
            pass
        going_on = job.report(usage.into(status))
        set_slice(SLICE_DEFAULT)  # the clean-up can wait (see set_slice)
        kill_descendants(None, Usage())
        exits.release()
    else:
        # Whatever the job left behind (daemons, setsid, double forks) dies with it.
        kill_descendants(None, usage)
        going_on = job.report(usage.into(status))
    job.close()
    # A job that was killed before it read its spec leaves it queued: it must not reach the next standby.
    drain(job_sock)
    return going_on


def hear_standby(channel, job, cgroup, warning, engine_end):
    """One message from the standby job process: "R" (ready; told to the zygote, with the engine's end of the job's
    status socket) or "J" and the CLOCK_MONOTONIC nanoseconds its job arrived at. False at the end of the stream.

    "J" is read only after the job (see serve_job): hearing it as it came would wake the init while the job starts,
    on a small machine most often on the job's own CPU."""
    data = channel.recv(16)
    if data == b"R" and not job.ready and engine_end is not None:  # not once the job is over (engine_end None)
        job.ready = True
        report = {"ready": True, "seq": job.seq, "cgroup": cgroup}
        if warning:
            report["warning"] = warning
        send(job.sock, report, [engine_end.fileno()])
    elif data[:1] == b"J":
        job.has_job = True
        if len(data) == 9:
            job.started_ns = struct.unpack("=q", data[1:])[0]
    return bool(data)


class ExitReports:
    """The connections on which a job may say it ended (see report_exit), heard only from the job's own process."""

    MAX_PENDING = 8
    # Connections turned down (not the job's own process, or not a report) before the init stops listening for the rest
    # of the job. Each one cost the init an accept, a read and a close, outside the job's cgroup and its CPU limit: a
    # job connecting in a loop kept its init on a CPU of its own (4.9 s of the init's CPU in 5.5 s, for 3.4 s of the
    # job's). Once the init stops listening the kernel's backlog fills up, further connections fail there, and the
    # job's end is heard from its exit instead.
    MAX_REFUSED = 16

    def __init__(self, listener, pid):
        self.listener = listener
        self.pid = pid
        self.pending = []
        self.held = None  # the connection the job's report came on: the job waits on it (see report_exit)
        self.refused = 0

    def watched(self, ready):
        """Once the standby is ready; only its process's report counts (see hear)."""
        if self.listener is None or not ready:
            return []
        if self.refused >= self.MAX_REFUSED:
            return list(self.pending)
        return [self.listener] + self.pending

    def hear(self, ready, usage):
        """The job's wait status when its own process said it ended, else None."""
        if self.listener is None:
            return None
        readable = [c for c in self.pending if c in ready]
        if self.listener in ready:
            try:
                connection, _ = self.listener.accept()
                connection.setblocking(False)
                readable.append(connection)  # the job sends as it connects: most likely there already
            except (BlockingIOError, InterruptedError):
                pass
        for connection in readable:
            if connection in self.pending:
                self.pending.remove(connection)
            try:
                peer, _, _ = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
                data = connection.recv(64)
            except (BlockingIOError, InterruptedError):
                if len(self.pending) < self.MAX_PENDING:
                    self.pending.append(connection)  # heard when it says something
                else:
                    connection.close()  # a job flooding the socket gets nowhere
                    self.refused += 1
                continue
            except OSError:
                peer, data = None, b""
            status = self.parse(data, usage) if peer == self.pid else None
            if status is not None:
                self.held = connection
                return status
            connection.close()
            self.refused += 1
        return None

    def release(self):
        """Closes the connection the job's report came on: a job still waiting on it goes on to exit."""
        if self.held is not None:
            self.held.close()
            self.held = None

    @staticmethod
    def parse(data, usage):
        """ "X code utime_us stime_us maxrss_kb" → the wait status of exit(code); the usage goes into usage."""
        try:
            tag, code, utime_us, stime_us, maxrss_kb = data.split()
            code, utime_us, stime_us, maxrss_kb = int(code), int(utime_us), int(stime_us), int(maxrss_kb)
        except ValueError:
            return None
        if tag != b"X" or not 0 <= code <= 255:
            return None
        # The job wrote these: beyond any real usage, they overflowed the engine's 64-bit counters where no cgroup
        # measures the job, and the job ended as an error of Runbox's. Not a report, then: its exit says how it ended.
        if not all(0 <= value < 1 << 53 for value in (utime_us, stime_us, maxrss_kb)):
            return None
        usage.utime, usage.stime = utime_us / 1e6, stime_us / 1e6
        usage.maxrss = maxrss_kb
        return code << 8

    def close(self):
        """Drops every connection, and any still queued, so none reaches the next job; the report's own stays open
        until release()."""
        for connection in self.pending:
            connection.close()
        self.pending = []
        while self.listener is not None:
            try:
                self.listener.accept()[0].close()
            except (BlockingIOError, InterruptedError):
                break


_fork = None  # glibc's fork(), looked up once per process that forks jobs (see fork_lean); False if unavailable


def fork_lean():
    """fork(2) without Python's after-fork work in the child (reinitialising thread state, locks and every
    registered at-fork hook): in a process that shares its pages with its parent, that work writes hundreds of
    pages, each a page copy. Safe here because the zygote, and so each init, is single-threaded (checked at start):
    no lock can be held by another thread. What the hooks would do that matters is redone: random reseeds."""
    global _fork
    if _fork is None:
        try:
            import ctypes
            _fork = ctypes.PyDLL(None, use_errno=True).fork  # PyDLL: the call keeps the GIL, so the child holds it too
            _fork.restype = ctypes.c_int
        except (ImportError, OSError, AttributeError):
            _fork = False
    if _fork is False:
        return os.fork()
    pid = _fork()
    if pid < 0:
        import ctypes
        raise OSError(ctypes.get_errno(), "fork failed")
    if pid == 0:
        random.seed()
        main = threading.main_thread()
        if hasattr(main, "_set_native_id"):
            main._set_native_id()
    return pid


def open_pidfd(pid):
    """A descriptor that turns readable when the process ends (Linux 5.3+), or None."""
    try:
        if hasattr(os, "pidfd_open"):
            return os.pidfd_open(pid)
        fd = libc().syscall(434, pid, 0)  # pidfd_open on every architecture
        return fd if fd >= 0 else None
    except OSError:
        return None


def one_way_pair():
    """A stream socket pair that carries data one way: (the end that reads, the end that writes)."""
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    reader.shutdown(socket.SHUT_WR)
    writer.shutdown(socket.SHUT_RD)
    return reader, writer


def close_all_but(*keep):
    """Closes every descriptor from 3 up, except those in keep."""
    low = 3
    for fd in sorted(set(keep)):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 65536)


def close_fds(*fds):
    for fd in fds:
        if fd is not None:
            os.close(fd)


class Usage:
    """What the processes of one job used, summed from what wait4 reported as each was reaped."""

    def __init__(self):
        self.utime = self.stime = 0.0
        self.maxrss = 0

    def into(self, status):
        status.update(utime_us=int(self.utime * 1e6), stime_us=int(self.stime * 1e6), maxrss_kb=self.maxrss)
        return status

    def add(self, rusage):
        if rusage is not None:
            self.utime += rusage.ru_utime
            self.stime += rusage.ru_stime
            self.maxrss = max(self.maxrss, rusage.ru_maxrss)


def make_cgroups(sandbox, name):
    """A fresh cgroup in every hierarchy (relative to the parents' descriptors), all or nothing (a job then fails
    rather than run with part of its limits). Returns (name or None, warning)."""
    if not sandbox.cgroup_fds or not name:
        return None, None
    for made, parent in enumerate(sandbox.cgroup_fds):
        try:
            os.mkdir(name, dir_fd=parent)
        except OSError as e:
            remove_cgroups(sandbox, name, sandbox.cgroup_fds[:made])
            return None, "cannot create cgroup %s/%s: %s" % (sandbox.cgroup_parents[made], name, e)
    return name, None


def remove_cgroups(sandbox, name, parents=None):
    if not name:
        return
    for parent in sandbox.cgroup_fds if parents is None else parents:
        for _ in range(50):
            try:
                os.rmdir(name, dir_fd=parent)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.002)  # its last process is still leaving


def drain(sock):
    sock.setblocking(False)
    try:
        while True:
            try:
                message, fds = recv(sock, max_fds=3)
            except (BlockingIOError, InterruptedError):
                return
            for fd in fds:
                os.close(fd)
            if message is None:
                return
    finally:
        sock.setblocking(True)


def send_and_exit(sock, message):
    try:
        send(sock, message)
    finally:
        os._exit(0)


def kill_descendants(job_pid, usage):
    """Kills everything the job started, however it detached (setsid, double fork), and reaps it all into usage.
    Returns the wait status of job_pid when it was reaped here.

    SIGCHLD is held back meanwhile, so waiting for the next death is a sigtimedwait that returns as it comes rather
    than a sleep: the job's slot is freed once its last process is reaped, not a scheduler tick or two later."""
    job_status = None
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
    try:
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
                    pid, wait_status, rusage = os.wait4(-1, os.WNOHANG)
                except ChildProcessError:
                    return job_status
                if pid == 0:
                    break
                usage.add(rusage)
                if pid == job_pid:
                    job_status = wait_status
                reaped_any = True
            if not reaped_any:
                signal.sigtimedwait([signal.SIGCHLD], 0.001)
        return job_status
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])


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

def stdio_pairs():
    """A job's stdin, stdout and stderr: socket pairs (engine's end, job's end), one direction each."""
    job_stdin, engine_stdin = one_way_pair()
    return [(engine_stdin, job_stdin), one_way_pair(), one_way_pair()]


class Zygote:
    STDIO_AHEAD = 2  # jobs whose stdio socket pairs are made ahead

    def __init__(self, control, config):
        self.control = control
        self.config = config
        self.sandbox = Sandbox(config.get("sandbox", {}))
        self.pool_size = config.get("pool", 2)
        self.idle_seconds = config.get("idle_seconds", 10)
        self.inits = {}                    # socket fd → Init
        self.pool = {False: [], True: []}  # network → ready inits, the most recently used last
        self.jobs = {}                     # job id → Init
        self.counter = 0                   # names inits' cgroups
        self.waiting = []                  # spawn requests waiting for a ready init
        self.failures = 0                  # inits in a row that failed before serving a job
        self.retry_at = 0.0                # after repeated failures, no new init before this (monotonic)
        self.stdio = []                    # the next jobs' stdio socket pairs, made while idle (see make_stdio)
        self.offering = config.get("offer", False)  # whether ready inits are handed to the engine (see offer)
        self.offered = {}                  # ref → Init held by the engine
        self.untaken = set()               # (ref, seq) of offered inits whose job ended before the engine's "took"

    def run(self):
        while True:
            readable = [self.control] + [i.sock for i in self.inits.values()]
            try:
                # Work first; a new init (a fork, new namespaces) only when nothing is waiting.
                ready, _, _ = select.select(readable, [], [], 0)
                if not ready:
                    if self.refill() or self.make_stdio():
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
                    self.on_init(self.inits.get(sock.fileno()))
            self.escalate_kills()
            self.retire_idle()
            self.reap()

    def make_stdio(self):
        """Makes one more job's stdio socket pairs ahead, while nothing else is to be done, so a job's dispatch does
        not wait for them. True if it did."""
        if len(self.stdio) >= self.STDIO_AHEAD:
            return False
        self.stdio.append(stdio_pairs())
        return True

    def coming(self, network):
        """Inits that will be ready soon: starting, or preparing their next job after one ended."""
        return sum(1 for i in self.inits.values() if i.network == network and i.state in ("starting", "preparing"))

    def refill(self):
        """Starts one more init when ready ones plus those coming fall short of the pool (or of waiting jobs;
        networked inits are made on demand only). True if it did."""
        if self.failures and time.monotonic() < self.retry_at:
            return False
        for network in (False, True):
            waiting = sum(1 for spec in self.waiting if bool(spec.get("network")) == network)
            wanted = waiting + (0 if network else self.pool_size)
            offered = 0 if network else len(self.offered)
            if len(self.pool[network]) + offered + self.coming(network) < wanted:
                self.add_init(network)
                return True
        return False

    def add_init(self, network):
        """Forks an init; it joins the pool when it reports ready (see on_init), never blocking the loop."""
        self.counter += 1
        # Zygotes of several runtimes share the cgroup parents; the init numbers its jobs' cgroups after this.
        base = "pool-%d-%d" % (os.getpid(), self.counter) if self.sandbox.cgroup_parents else None
        _pid, sock, job_sock = spawn_init(self.sandbox, network, base)
        init = Init(sock, job_sock, network)
        init.ref = self.counter
        self.inits[sock.fileno()] = init
        return init

    def on_control(self):
        try:
            message, fds = recv(self.control, max_fds=1)
        except OSError:
            message, fds = None, []
        if message is None or message.get("op") == "exit":
            self.shutdown()
            return False
        op = message.get("op")
        if op == "spawn" and fds:
            # The job's spec, unread (see the top of this file): kept as a descriptor until it goes to the standby.
            message["spec_fd"] = fds.pop()
            self.spawn(message)
        elif op == "spawn":
            send(self.control, {"t": "exited", "id": message.get("id"), "error": "could not start the job: no spec came"})
        elif op == "took":
            self.took(message)
        elif op == "drop":
            init = self.offered.get(message.get("init"))
            if init is not None and init.seq == message.get("seq"):
                self.retire(init)
        elif op == "kill":
            self.kill(message["id"])
        close_fds(*fds)
        return True

    def took(self, message):
        """The engine sent a job straight to an offered init's standby (see offer): the init is busy with it now."""
        job_id = message["id"]
        key = (message.get("init"), message.get("seq"))
        if key in self.untaken:
            self.untaken.discard(key)  # the job is over: its init reported it straight to the engine
            return
        init = self.offered.get(key[0])
        if init is None or init.seq != key[1]:
            # Its init died before its job could be reported: this is the job's only word.
            self.report_lost(job_id)
            return
        del self.offered[init.ref]
        init.state = "busy"
        init.job = job_id
        self.jobs[job_id] = init

    def hear_engine(self):
        """Handles every message the engine has sent so far. An offered init's report may be read before the
        engine's "took" for its job, queued behind other messages: that is read first."""
        while select.select([self.control], [], [], 0)[0]:
            if not self.on_control():
                return False
        return True

    def offer(self, init):
        """Hands a ready init to the engine: its job socket, the engine's end of its status socket, and a job's
        stdio pairs (both ends: the job's go with the job). The engine takes it for a job, or drops it."""
        ends = self.stdio.pop() if self.stdio else stdio_pairs()
        try:
            send(self.control, {"t": "offer", "init": init.ref, "seq": init.seq, "pid": init.pid, "cgroup": init.cgroup,
                                "folder": self.sandbox.detached_mounts},
                 [init.job_sock.fileno(), init.status_fd] + [s.fileno() for pair in ends for s in pair])
        finally:
            for pair in ends:
                for s in pair:
                    s.close()
        close_fds(init.status_fd)
        init.status_fd = None
        init.state = "offered"
        self.offered[init.ref] = init

    def spawn(self, spec):
        pool = self.pool[bool(spec.get("network"))]
        if not pool:
            self.waiting.append(spec)
            return
        self.dispatch(pool.pop(), spec)  # the most recently used: its pages are the warmest

    def dispatch(self, init, spec):
        job_id = spec["id"]
        init.state = "busy"
        init.job = job_id
        self.jobs[job_id] = init
        message = {"spec_fd": None}  # what goes to the standby with the spec's descriptor (see read_spec)
        try:
            if init.status_fd is None:
                raise OSError("the init sent no status socket")
            ends = self.stdio.pop() if self.stdio else stdio_pairs()
            if self.sandbox.cgroup_parents and init.cgroup is None:
                raise OSError("no cgroup could be made for the job")
            if init.cgroup is not None:
                # A rename is cheap (no migration); the job's name tells the engine which cgroup is whose.
                name = "job-" + init.cgroup[len("pool-"):]
                for parent in self.sandbox.cgroup_parents:
                    os.rename(parent + "/" + init.cgroup, parent + "/" + name)
                init.cgroup = name
                message["cgroup_name"] = name
            fds = [job_end.fileno() for _, job_end in ends]
            if self.sandbox.detached_mounts:
                # The init pivoted into its root: the job's folder goes in as a detached mount (see enter_root).
                folder = open_tree(spec["cwd"])
                fds.append(folder)
            else:
                folder = None
            message["spec_fd"] = len(fds)
            fds.append(spec["spec_fd"])
            try:
                send(init.job_sock, message, fds)
            except (BrokenPipeError, ConnectionRefusedError, ConnectionResetError):
                # The init died since it was ready (its end of the job socket is closed): another one takes the job.
                self.retire(init)  # forgets its job too
                self.stdio.append(ends)
                self.spawn(spec)
                return
            finally:
                close_fds(folder)
            close_fds(spec.pop("spec_fd"))
            send(self.control, {"t": "started", "id": job_id, "pid": init.pid, "cgroup": init.cgroup},
                 [engine_end.fileno() for engine_end, _ in ends] + [init.status_fd])
            close_fds(init.status_fd)
            init.status_fd = None
            for pair in ends:
                for s in pair:
                    s.close()
        except Exception as e:
            self.retire(init)
            close_fds(spec.pop("spec_fd", None))
            send(self.control, {"t": "exited", "id": job_id, "error": "could not start the job: %s" % (e,)})

    def on_init(self, init):
        if init is None:
            return
        try:
            message, fds = recv(init.sock, max_fds=1)
        except OSError:
            message, fds = None, []
        if message is not None and message.get("ready") and fds:
            close_fds(init.status_fd)
            init.status_fd = fds.pop()
        close_fds(*fds)
        if init.state == "offered":
            if not self.hear_engine() or init.sock.fileno() not in self.inits:
                return
            if init.state == "offered" and message is not None and "pid" not in message and not message.get("ready"):
                # A report, its "took" not sent yet: the job reported straight to the engine; it ends here.
                del self.offered[init.ref]
                self.untaken.add((init.ref, init.seq))
                init.state = "busy"
        if message is None:
            self.on_init_gone(init)
        elif "pid" in message and init.pid is None:
            init.pid = message["pid"]
            if init.early is not None:
                self.on_ready(init, init.early)
        elif message.get("ready"):
            if init.pid is None:
                # In a PID namespace a helper reports the init's host pid, and may be slower than the init's own
                # "ready" on the same socket: hold it until the pid is known.
                init.early = message
            else:
                self.on_ready(init, message)
        elif init.state == "busy":
            report = {"t": "exited", "id": init.job}
            report.update((k, v) for k, v in message.items() if k not in ("last", "direct"))
            self.jobs.pop(init.job, None)
            init.job = None
            init.kill_at = None
            init.state = "preparing"
            if message.get("last"):
                self.forget(init)  # it exits now; a new one takes its place
            if not message.get("direct") and report["id"] is not None:
                send(self.control, report)
        else:
            # An init that failed before any job (its sandbox could not be set up): say so; the refill retries.
            self.forget(init)
            self.on_init_failed(message.get("error", "a job init failed"))

    def on_init_gone(self, init):
        self.forget(init)
        if init.state == "busy":
            if init.job is not None:
                self.report_lost(init.job)
        elif init.state == "starting":
            self.on_init_failed("a job init died")
        else:
            # One that had been ready (killed from outside, say): the refill replaces it; not a failure to set up.
            send(self.control, {"t": "warning", "message": "a job init died"})

    def report_lost(self, job_id):
        send(self.control, {"t": "exited", "id": job_id, "error": "the job's init process died", "lost": True})

    def on_init_failed(self, reason):
        """Warns; after several inits in a row failed before any job, fails the jobs waiting for one rather than
        let them wait for ever while the refill retries."""
        send(self.control, {"t": "warning", "message": reason})
        self.failures += 1
        if self.failures >= 3:
            self.retry_at = time.monotonic() + min(self.failures, 10) * 0.5  # no busy loop of failing forks
            for spec in self.waiting:
                close_fds(spec.pop("spec_fd", None))
                send(self.control, {"t": "exited", "id": spec["id"], "error": "could not start the job: %s" % reason})
            self.waiting = []

    def on_ready(self, init, message):
        self.failures = 0
        init.early = None
        init.state = "ready"
        init.seq = message.get("seq")
        init.cgroup = message.get("cgroup")
        if message.get("warning"):
            send(self.control, {"t": "warning", "message": message["warning"]})
        for spec in self.waiting:
            if bool(spec.get("network")) == init.network:
                self.waiting.remove(spec)
                self.dispatch(init, spec)
                return
        # Not one whose cgroup could not be made: dispatched by the zygote, such a job fails rather than run without.
        cgroup_ok = init.cgroup is not None or not self.sandbox.cgroup_parents
        if self.offering and not init.network and init.status_fd is not None and cgroup_ok \
                and len(self.offered) < self.pool_size:
            self.offer(init)
            return
        init.idle_since = time.monotonic()
        self.pool[init.network].append(init)

    def retire_idle(self):
        """Inits beyond the pool (made for a burst, or networked) leave after idle_seconds without a job. Those
        offered to the engine count towards the pool: it is how many are ready in all."""
        now = time.monotonic()
        for network, pool in self.pool.items():
            keep = 0 if network else max(0, self.pool_size - len(self.offered))
            while len(pool) > keep and now - pool[0].idle_since >= self.idle_seconds:
                self.retire(pool[0])

    def retire(self, init):
        try:
            send(init.sock, {"op": "exit"})
        except OSError:
            pass
        self.forget(init)

    def kill(self, job_id):
        init = self.jobs.get(job_id)
        if init is None:
            return
        try:
            send(init.sock, {"op": "kill", "seq": init.seq})
        except OSError:
            pass
        if init.kill_at is None:
            init.kill_at = time.monotonic() + 1.0

    def escalate_kills(self):
        now = time.monotonic()
        for init in list(self.jobs.values()):
            if init.kill_at is not None and now >= init.kill_at and init.pid is not None:
                # The init did not answer: kill its whole tree from here (a PID namespace dies with its init).
                for target in descendants(init.pid) + [init.pid]:
                    try:
                        os.kill(target, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                init.kill_at = now + 1.0

    def forget(self, init):
        self.inits.pop(init.sock.fileno(), None)
        if self.offered.get(init.ref) is init:
            del self.offered[init.ref]
            send(self.control, {"t": "withdrawn", "init": init.ref})  # the engine must not send it a job now
        for pool in self.pool.values():
            if init in pool:
                pool.remove(init)
        if init.job is not None:
            self.jobs.pop(init.job, None)
        close_fds(init.status_fd)
        init.status_fd = None
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
        for init in list(self.inits.values()):
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
    global _preloaded
    config = json.loads(sys.argv[1])
    control = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    control.connect(config["control"])
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    # The engine (a .NET process) may pass ignored signals on; the zygote itself wants defaults for children.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    # The zygote shares its engine's process group, so a signal for the whole group (Ctrl-C at a terminal, a service
    # manager's or `kill -- -PGID`'s SIGTERM) would end it, and every running job with it, before the engine has
    # drained them. It ends when its control channel closes instead; inits and jobs take the defaults back.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    errors = preload(config.get("preload", []))
    _preloaded = tuple(name for name in config.get("preload", []) if name not in errors)
    # Jobs write no bytecode caches (as `python -B`): a job's folder is new each time, so a `__pycache__` there would
    # never be read again, and would show up among the files the job produced. The preloads above did write theirs.
    sys.dont_write_bytecode = True
    threads = threading.active_count()
    zygote = Zygote(control, config)
    namespaces = probe(zygote.sandbox)
    zygote.sandbox.apply_probe(namespaces)
    zygote.sandbox.detached_mounts = can_detach_mounts(zygote.sandbox)
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
