"""The namespaces, file system and privileges of one sandboxed run (Linux), set up between fork
and exec (``subprocess``'s ``preexec_fn``), for :mod:`rewards.code.sandbox`.

The child creates a user namespace (so it needs no root: an ordinary user maps itself to root
inside; root first becomes ``nobody`` and maps that), with new mount, network, IPC, UTS and PID
namespaces. It then forks: the first child stays outside the PID namespace, reports the
grandchild's PID to the parent and mirrors its exit status; the grandchild is PID 1 of the new
namespace (when it exits the kernel kills everything else inside) and builds the program's
world:

- a new root on a small tmpfs holding read-only binds of the host's ``/usr``, ``/etc``, ``/opt``
  (and any extra read-only paths, e.g. an interpreter's prefix or a compiler's toolchain), the
  merged-/usr symlinks, a
  minimal ``/dev`` (null, zero, full, random, urandom) and a fresh ``/proc`` that shows only the
  run's own processes; the old root is detached (``pivot_root``), so nothing else of the host is
  reachable, and the new root is remounted read-only;
- one size-limited tmpfs (``disk_bytes``) for everything the program may write: ``/work`` (its
  working directory, holding its files), ``/tmp`` and ``/dev/shm``; it lives in the namespace
  and vanishes with it;
- no capabilities (bounding, ambient and effective sets emptied, ``SECBIT_NOROOT`` locked),
  no_new_privs, and no further user namespaces (``user.max_user_namespaces`` = 0 inside).

An extra read-only path that ``nobody`` cannot reach on the host (a toolchain under ``/root``,
which is mode 700, such as rustup's) is *held* first when the run starts as root: still root, the
child enters a private mount namespace of its own and binds the path onto an empty, reachable
stage directory; only then does it become ``nobody`` and bind the stage into the new root. The
host's mounts never change, and the program reaches nothing of ``/root`` but that path.

Only ``os``, ``ctypes`` and values prepared in the parent are used after the fork.
"""

from __future__ import annotations

import ctypes
import os
import resource
from dataclasses import dataclass, field

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE, MS_RELATIME = 1024, 2048, 4096, 16384, 1 << 18, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_SECUREBITS = 1, 4, 24, 28
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
SECURE_NOROOT_ALL = 0x2F  # noroot, no_setuid_fixup and keep_caps, each locked
_SYSCALLS = {"x86_64": {"pivot_root": 155, "capset": 126}, "aarch64": {"pivot_root": 41, "capset": 91}}
# statvfs flag -> mount flag; a remount must keep the flags the kernel locked on the host mount
_KEEP_FLAGS = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
               (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME), (4096, MS_RELATIME))
DEVICES = ("null", "zero", "full", "random", "urandom")
READ_ONLY = ("/usr", "/etc", "/opt")  # bound read-only when they are directories
SYMLINKS = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")  # merged-/usr links, or binds

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


class SetupError(OSError):
    """A step of the set-up failed; ``args[1]`` names the step."""


@dataclass(frozen=True)
class Plan:
    """Everything the child needs, computed in the parent."""

    mountpoint: str  # an existing empty host directory; the new root is mounted on it, in the namespace
    files: dict[str, bytes]  # written into /work
    disk_bytes: int  # size of the tmpfs behind /work, /tmp and /dev/shm
    report_fd: int  # the child writes "P <pid>" (grandchild's host PID) or "E <step>: <error>" here
    executables: frozenset[str] = frozenset()  # of ``files``, those written with mode 755
    become: tuple[int, int] | None = None  # (uid, gid) to switch to before the user namespace (root only)
    read_only: tuple[str, ...] = ()  # host paths bound read-only at the same place
    held: tuple[tuple[str, str], ...] = ()  # (path, stage): read-only paths the sandbox user cannot reach
    symlinks: tuple[tuple[str, str], ...] = ()  # (path, target) created in the new root
    rlimits: tuple[tuple[int, int], ...] = ()  # (resource, value): soft = hard = value
    cgroup_files: tuple[str, ...] = ()  # cgroup.procs files the run joins
    cap_last: int = 40
    machine: str = field(default_factory=lambda: os.uname().machine)


def host_layout(extra_read_only: tuple[str, ...] = ()) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The host directories to bind read-only and the symlinks to recreate, as seen here."""
    read_only, links = [], []
    for path in READ_ONLY + SYMLINKS:
        if os.path.islink(path):
            links.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            read_only.append(path)
    for path in extra_read_only:
        real = os.path.realpath(path)
        if os.path.exists(real) and not any(real == d or real.startswith(d + "/") for d in read_only):
            read_only.append(real)
    return tuple(read_only), tuple(links)


def _check(result: int, step: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SetupError(err, f"{step}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None, step=None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), step or f"mount {target}")


def _write(path: str, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _bind_read_only(source: str, target: str) -> None:
    _mount(source, target, None, MS_BIND, step=f"bind {source}")
    keep = sum(ms for st, ms in _KEEP_FLAGS if os.statvfs(source).f_flag & st)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | keep, step=f"read-only {source}")


def _build_root(plan: Plan) -> None:
    root = plan.mountpoint
    _mount(None, "/", None, MS_REC | MS_PRIVATE, step="private mounts")
    _mount("sandbox-root", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    stages = dict(plan.held)
    for path in plan.read_only:
        os.makedirs(root + path, exist_ok=True)
        source = stages.get(path, path)
        (_bind_read_only if os.path.isdir(source) else _bind_file_read_only)(source, root + path)
    for path, target in plan.symlinks:
        os.symlink(target, root + path)
    dev = root + "/dev"
    os.mkdir(dev)
    _mount("sandbox-dev", dev, "tmpfs", MS_NOSUID, "size=64k,mode=755")
    for name in DEVICES:
        _write(f"{dev}/{name}", b"", 0o666)
        _mount(f"/dev/{name}", f"{dev}/{name}", None, MS_BIND, step=f"bind /dev/{name}")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dev}/{name}")
    os.mkdir(f"{dev}/shm")
    _mount(None, dev, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID, "size=64k,mode=755", step="read-only /dev")
    os.mkdir(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, step="mount a fresh /proc")
    scratch = root + "/.scratch"  # one tmpfs behind every writable place, so one size bounds them all
    os.mkdir(scratch)
    _mount("sandbox-work", scratch, "tmpfs", MS_NOSUID | MS_NODEV, f"size={plan.disk_bytes},mode=755",
           step="mount the working tmpfs")
    for place, inside in (("/work", "work"), ("/tmp", "tmp"), ("/dev/shm", "shm")):
        os.mkdir(f"{scratch}/{inside}", 0o700 if inside == "work" else 0o1777)
        if not os.path.isdir(root + place):
            os.mkdir(root + place)
        _mount(f"{scratch}/{inside}", root + place, None, MS_BIND, step=f"bind {place}")
    for name, data in plan.files.items():
        _write(f"{root}/work/{name}", data, 0o755 if name in plan.executables else 0o644)
    _check(_libc.umount2(scratch.encode(), MNT_DETACH), "detach the scratch mount")
    os.rmdir(scratch)
    os.chdir(root)
    number = _SYSCALLS.get(plan.machine, {}).get("pivot_root")
    if number is None:
        raise SetupError(0, f"pivot_root: unsupported machine {plan.machine}")
    _check(_libc.syscall(number, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detach the old root")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, step="read-only root")
    os.chdir("/work")


def _bind_file_read_only(source: str, target: str) -> None:
    os.rmdir(target)
    _write(target, b"")
    _bind_read_only(source, target)


def _drop_privileges(plan: Plan) -> None:
    try:  # no user namespaces inside: nothing to gain capabilities back with
        _write("/proc/sys/user/max_user_namespaces", b"0")
    except OSError:
        pass
    _check(_libc.prctl(PR_SET_SECUREBITS, SECURE_NOROOT_ALL, 0, 0, 0), "securebits")
    for cap in range(plan.cap_last + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "drop bounding capabilities")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL on kernels without ambient caps
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
    number = _SYSCALLS.get(plan.machine, {}).get("capset")
    _check(_libc.syscall(number, ctypes.byref(header), ctypes.byref(data)), "drop capabilities")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _hold(plan: Plan) -> None:
    """Still root: bind the paths ``nobody`` cannot reach onto their stages, in a private mount
    namespace of this child (the user namespace entered next copies it)."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare (a mount namespace to hold toolchain paths)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE, step="private mounts (hold)")
    for path, stage in plan.held:
        _mount(path, stage, None, MS_BIND, step=f"hold {path}")


def _enter_namespaces(plan: Plan) -> None:
    for path in plan.cgroup_files:
        _write(path, str(os.getpid()).encode())
    if plan.held:
        _hold(plan)
    if plan.become is not None:
        uid, gid = plan.become
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # so it may write its own uid_map
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID),
           "unshare (user, mount, network, IPC, UTS, PID namespaces)")
    _write("/proc/self/setgroups", b"deny")
    _write("/proc/self/uid_map", f"0 {uid} 1".encode())
    _write("/proc/self/gid_map", f"0 {gid} 1".encode())


def _mirror(pid: int) -> None:
    """The first child: wait for PID 1 of the namespace and exit as it did."""
    os.closerange(0, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 4096)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            os._exit(255)
        except InterruptedError:
            continue
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def preexec(plan: Plan):
    """The function to run between fork and exec."""

    def run() -> None:
        step = "enter namespaces"
        try:
            _enter_namespaces(plan)
            pid = os.fork()
            if pid:
                os.write(plan.report_fd, f"P {pid}\n".encode())
                _mirror(pid)
            step = "build the root"
            _libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)  # SIGKILL if the first child dies
            _build_root(plan)
            step = "drop privileges"
            _drop_privileges(plan)
            for which, value in plan.rlimits:  # last: the forked trainer may be far above them
                resource.setrlimit(which, (value, value))
        except BaseException as err:  # noqa: BLE001 - reported to the parent, then subprocess fails the start
            os.write(plan.report_fd, f"E {step}: {err}\n".encode(errors="replace"))
            raise

    return run
