"""Landlock: unprivileged Linux filesystem and network sandboxing, through its three syscalls.

Standard library only: the sandbox server imports this module outside Django. A process that
calls `restrict_self` (and every process it starts) can from then on open only the paths and
TCP ports it was granted, cannot signal or ptrace processes outside its sandbox, and cannot
reach abstract UNIX sockets outside it. See the kernel's Documentation/userspace-api/landlock.rst.
"""

import ctypes
import functools
import os
import platform

_SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_RULE_NET_PORT = 2
_PR_SET_NO_NEW_PRIVS = 38

# Filesystem rights, by the ABI version that introduced them.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_V1 = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | _TRUNCATE | _IOCTL_DEV
READ_ONLY = EXECUTE | READ_FILE | READ_DIR
_BIND_TCP, _CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


class LandlockError(OSError):
    """Landlock is missing or refused a rule."""


@functools.cache
def _libc():
    return ctypes.CDLL(None, use_errno=True)


@functools.cache
def abi_version() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is unavailable."""
    numbers = _SYSCALLS.get(platform.machine())
    if numbers is None:
        return 0
    version = _libc().syscall(numbers[0], None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(version, 0)


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise LandlockError(errno, f"Landlock {what}: {os.strerror(errno)}")
    return result


class Ruleset:
    """A Landlock ruleset being built: grant paths and ports, then `enforce` it on this process.

    Building can happen ahead of time (the sandbox's standby child prepares the rules that are
    the same for every run), leaving only the run's own directory to add when it starts.
    """

    def __init__(self, *, tcp_ports: list[int] | None) -> None:
        self.version = abi_version()
        if self.version < 1:
            raise LandlockError(0, "Landlock is not available on this kernel")
        self._create, self._add_rule, self._restrict = _SYSCALLS[platform.machine()]
        v = self.version
        self.handled_fs = _FS_V1 | (_REFER if v >= 2 else 0) | (_TRUNCATE if v >= 3 else 0)
        self.handled_fs |= _IOCTL_DEV if v >= 5 else 0
        handled_net = (_BIND_TCP | _CONNECT_TCP) if v >= 4 and tcp_ports is not None else 0
        scoped = (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if v >= 6 else 0
        # Older kernels accept the larger struct as long as the fields they lack are zero.
        attr = _RulesetAttr(self.handled_fs, handled_net, scoped)
        size = ctypes.c_size_t(ctypes.sizeof(attr))
        self.fd = _check(_libc().syscall(self._create, ctypes.byref(attr), size, 0), "ruleset")
        for port in tcp_ports if handled_net else []:
            rule = _NetPortAttr(_CONNECT_TCP, port)
            self._add(_RULE_NET_PORT, rule, f"port {port}")

    def _add(self, kind: int, rule, what: str) -> None:
        _check(_libc().syscall(self._add_rule, self.fd, kind, ctypes.byref(rule), 0), what)

    def allow(self, path: str, *, write: bool = False) -> None:
        """Grant reading (and executing) beneath `path`, or every right with `write`."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            access = self.handled_fs if write else READ_ONLY
            if not os.path.isdir(path):
                access &= _FILE_RIGHTS
            self._add(_RULE_PATH_BENEATH, _PathBeneathAttr(access & self.handled_fs, fd), path)
        finally:
            os.close(fd)

    def enforce(self) -> None:
        """Confine this process (and all it starts) to the rules granted so far."""
        libc = _libc()
        try:
            _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
            _check(libc.syscall(self._restrict, self.fd, 0), "restrict_self")
        finally:
            os.close(self.fd)


def restrict_self(
    *, read_paths: list[str], write_paths: list[str], tcp_ports: list[int] | None
) -> int:
    """Confine this process: read (and execute) `read_paths`, read and write `write_paths`,
    connect only to `tcp_ports` (None: any port) and bind none. Returns the ABI version used.

    Paths that do not exist are skipped. Raises LandlockError when Landlock is unavailable.
    """
    ruleset = Ruleset(tcp_ports=tcp_ports)
    for path in read_paths:
        ruleset.allow(path)
    for path in write_paths:
        ruleset.allow(path, write=True)
    ruleset.enforce()
    return ruleset.version
