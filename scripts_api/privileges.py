"""Dropping a process's privileges for good: its uid when it is root, every capability always.

Standard library only: the sandbox server imports this module outside Django.
"""

import contextlib
import ctypes
import functools
import os

_PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 24, 38
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_LAST_CAP_GUESS = 63  # when /proc/sys/kernel/cap_last_cap cannot be read


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


@functools.cache
def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


@functools.cache
def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as file:
            return int(file.read())
    except (OSError, ValueError):
        return _LAST_CAP_GUESS


def drop_bounding_set() -> None:
    """Empty the capability bounding set: what a program this process executes could gain. A
    root process keeps its effective capabilities (chown, mount, setuid) until `drop`."""
    libc = _libc()
    for cap in range(_last_cap() + 1):
        # Needs CAP_SETPCAP, which root holds; without it the bounding set stays as it is, and
        # no_new_privs keeps any program this process runs from drawing on it.
        with contextlib.suppress(OSError):
            _check(libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0), "capbset")


def drop(*, uid: int, gid: int, bounding_set: bool = True) -> None:
    """Become `uid`/`gid` with no supplementary groups if this process is root, then give up
    every capability (bounding, ambient, effective, permitted, inheritable) and set
    `no_new_privs`, so that nothing it executes can gain any back. `bounding_set=False`: the
    caller already emptied the bounding set (`drop_bounding_set`)."""
    libc = _libc()
    if bounding_set:
        drop_bounding_set()
    if os.geteuid() == 0:
        if uid == 0:
            raise ValueError("The sandbox's uid cannot be 0.")
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)  # clears the permitted and effective sets of a root process
    _check(libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "ambient capabilities")
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset")
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


_CLONE_NEWNS = 0x00020000
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 0x40000


def _blocking_ancestor(path: str, uid: int, gid: int) -> str | None:
    """The topmost folder above `path` that `uid`/`gid` may not search, if any."""
    parts = path.split("/")[1:-1]
    for depth in range(len(parts) + 1):
        folder = "/" + "/".join(parts[:depth])
        info = os.stat(folder)
        bit = 0o100 if info.st_uid == uid else 0o010 if info.st_gid == gid else 0o001
        if not info.st_mode & bit:
            return folder
    return None


def make_reachable(paths: list[str], *, uid: int, gid: int) -> list[str]:
    """Let `uid`/`gid` reach `paths` through folders it may not search (a Python installed
    under /root, a run's directory under pytest's private temp folder): in a mount namespace
    of this process's own, cover each such folder with an empty tmpfs and bind the paths
    below it back in. Needs root; nothing else under the covered folders stays visible.
    Returns the folders covered."""
    covers: dict[str, list[str]] = {}
    for path in {os.path.realpath(p) for p in paths if os.path.exists(p)}:
        folder = _blocking_ancestor(path, uid, gid)
        if folder is not None:
            covers.setdefault(folder, []).append(path)
    if not covers:
        return []
    libc = _libc()
    if libc.unshare(_CLONE_NEWNS) != 0:
        error = ctypes.get_errno()
        folders = ", ".join(sorted(covers))
        raise OSError(
            error,
            f"uid {uid} may not search {folders} and this worker cannot mount over them "
            f"({os.strerror(error)}): let that uid search them, or set SANDBOX_UID",
        )
    # Private first: nothing mounted from here on may show in the host's namespace.
    _check(libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "mount --make-rprivate")
    # Held open before they are covered; a bind's source must be in this new namespace.
    held = {path: os.open(path, os.O_PATH) for below in covers.values() for path in below}
    umask = os.umask(0o022)  # the folders leading to the paths must be searchable
    for folder, below in covers.items():
        flags = _MS_NOSUID | _MS_NODEV
        _check(
            libc.mount(b"tmpfs", folder.encode(), b"tmpfs", flags, b"mode=0755,size=64k"), folder
        )
        for path in sorted(below):
            if os.path.isdir(f"/proc/self/fd/{held[path]}"):
                os.makedirs(path, mode=0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
            source = f"/proc/self/fd/{held[path]}".encode()
            _check(libc.mount(source, path.encode(), None, _MS_BIND | _MS_REC, None), path)
    for fd in held.values():
        os.close(fd)
    os.umask(umask)
    return sorted(covers)


def enter_mount_namespace(fd: int) -> None:
    """Join the mount namespace `fd` refers to (root only; a single-threaded process)."""
    _check(_libc().setns(fd, _CLONE_NEWNS), "setns")


def warm() -> None:
    """Look up what `drop` needs now, so that processes forked from here need not."""
    _libc()
    _last_cap()
