"""A seccomp filter that decides which sockets a script may open, assembled with ctypes.

Standard library only: the sandbox server imports this module outside Django. Landlock rules
TCP ports and (ABI 6+) abstract UNIX sockets, but no ABI up to 7 mediates UDP, raw sockets or
connect() to a pathname UNIX socket; this filter refuses creating them instead. Once installed
(it needs `no_new_privs`), the process and everything it starts may create:

- TCP sockets (AF_INET/AF_INET6, SOCK_STREAM, protocol TCP): the ports are Landlock's business;
- UDP sockets only with `udp`, and UNIX sockets of any kind only with `unix_sockets`;
- connected pairs of UNIX stream sockets (`socketpair`, as multiprocessing uses), which reach
  nothing outside: a connected stream socket cannot be connected elsewhere.

Everything else (AF_UNIX sockets, AF_NETLINK, AF_PACKET, SOCK_RAW, ICMP, SCTP, ...) fails with
EPERM, and so does io_uring, whose IORING_OP_SOCKET would create a socket without `socket()`,
sending with MSG_FASTOPEN (TCP Fast Open connects from sendto()/sendmsg(), which Landlock's
connect rule does not see) and listen() (which binds an unbound socket to a port Landlock's bind
rule does not see): both tested on Linux 6.18, ABI 7.
System calls of another architecture (32-bit x86 on x86_64, where `socketcall` would go round
the filter) kill the process.
"""

import ctypes
import errno
import functools
import os
import platform

# The architecture's audit number, its numbers for socket and socketpair, and those it refuses:
# the io_uring calls and listen.
_ARCHES = {
    "x86_64": (0xC000003E, 41, 53, (425, 426, 427, 50)),
    "aarch64": (0xC00000B7, 198, 199, (425, 426, 427, 201)),
}
# sendto, sendmsg and sendmmsg, with the index of their flags argument.
_SENDS = {"x86_64": ((44, 3), (46, 2), (307, 3)), "aarch64": ((206, 3), (211, 2), (269, 3))}
_MSG_FASTOPEN = 0x20000000
_X32_SYSCALL_BIT = 0x40000000

_LD_ABS_W, _JEQ, _JGE, _AND, _RET = 0x20, 0x15, 0x35, 0x54, 0x06
_RET_KILL_PROCESS, _RET_ERRNO, _RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
_NR, _ARCH = 0, 4


def _arg(index: int) -> int:
    return 16 + 8 * index  # the low 32 bits of args[index] (little-endian)


_AF_UNIX, _AF_INET, _AF_INET6 = 1, 2, 10
_SOCK_STREAM, _SOCK_DGRAM, _SOCK_SEQPACKET = 1, 2, 5
_SOCK_TYPE_MASK = 0xF  # without SOCK_NONBLOCK and SOCK_CLOEXEC
_IPPROTO_TCP, _IPPROTO_UDP = 6, 17

_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


class SeccompError(OSError):
    """The filter could not be installed."""


def available() -> bool:
    """Whether this module knows the machine's architecture."""
    return platform.machine() in _ARCHES


def _assemble(program: list[tuple]) -> list[tuple[int, int, int, int]]:
    """Resolve jumps to labels: items are ("label", name) or (code, k, jump_true, jump_false)."""
    labels, position = {}, 0
    for item in program:
        if item[0] == "label":
            labels[item[1]] = position
        else:
            position += 1
    assembled = []
    for item in program:
        if item[0] == "label":
            continue
        code, k, jt, jf = item
        here = len(assembled) + 1  # jumps are relative to the next instruction, forward only
        assembled.append((code, labels[jt] - here if jt else 0, labels[jf] - here if jf else 0, k))
    return assembled


@functools.cache
def program(*, unix_sockets: bool, udp: bool) -> tuple[tuple[int, int, int, int], ...]:
    """The filter for this machine, as (code, jt, jf, k) instructions."""
    audit_arch, nr_socket, nr_socketpair, refused = _ARCHES[platform.machine()]
    deny = _RET_ERRNO | errno.EPERM
    p = [
        (_LD_ABS_W, _ARCH, None, None),
        (_JEQ, audit_arch, "native", "kill"),
        ("label", "kill"),
        (_RET, _RET_KILL_PROCESS, None, None),
        ("label", "native"),
        (_LD_ABS_W, _NR, None, None),
    ]
    if platform.machine() == "x86_64":  # x32 system calls have numbers of their own
        p += [(_JGE, _X32_SYSCALL_BIT, "deny", "not_x32"), ("label", "not_x32")]
    for number in refused:
        p += [(_JEQ, number, "deny", f"not_{number}"), ("label", f"not_{number}")]
    for number, flags in _SENDS[platform.machine()]:
        p += [(_JEQ, number, f"send_{flags}", f"not_{number}"), ("label", f"not_{number}")]
    p += [
        (_JEQ, nr_socket, "socket", "not_socket"),
        ("label", "not_socket"),
        (_JEQ, nr_socketpair, "socketpair", "allow"),
        ("label", "socket"),
        (_LD_ABS_W, _arg(0), None, None),
        (_JEQ, _AF_INET, "inet", "not_inet"),
        ("label", "not_inet"),
        (_JEQ, _AF_INET6, "inet", "not_inet6"),
        ("label", "not_inet6"),
        (_JEQ, _AF_UNIX, "allow" if unix_sockets else "deny", "deny"),
        ("label", "inet"),
        (_LD_ABS_W, _arg(1), None, None),
        (_AND, _SOCK_TYPE_MASK, None, None),
        (_JEQ, _SOCK_STREAM, "tcp", "not_stream"),
        ("label", "not_stream"),
        (_JEQ, _SOCK_DGRAM, "udp" if udp else "deny", "deny"),
        ("label", "tcp"),
        (_LD_ABS_W, _arg(2), None, None),
        (_JEQ, 0, "allow", "not_default_tcp"),
        ("label", "not_default_tcp"),
        (_JEQ, _IPPROTO_TCP, "allow", "deny"),
        ("label", "udp"),
        (_LD_ABS_W, _arg(2), None, None),
        (_JEQ, 0, "allow", "not_default_udp"),
        ("label", "not_default_udp"),
        (_JEQ, _IPPROTO_UDP, "allow", "deny"),
        ("label", "socketpair"),
        (_LD_ABS_W, _arg(0), None, None),
        (_JEQ, _AF_UNIX, "pair_type", "deny"),
        ("label", "pair_type"),
        (_LD_ABS_W, _arg(1), None, None),
        (_AND, _SOCK_TYPE_MASK, None, None),
        (_JEQ, _SOCK_STREAM, "allow", "not_pair_stream"),
        ("label", "not_pair_stream"),
        (_JEQ, _SOCK_SEQPACKET, "allow", "allow" if unix_sockets else "deny"),
    ]
    for flags in sorted({flags for _, flags in _SENDS[platform.machine()]}):
        p += [
            ("label", f"send_{flags}"),
            (_LD_ABS_W, _arg(flags), None, None),
            (_AND, _MSG_FASTOPEN, None, None),
            (_JEQ, 0, "allow", "deny"),
        ]
    p += [
        ("label", "allow"),
        (_RET, _RET_ALLOW, None, None),
        ("label", "deny"),
        (_RET, deny, None, None),
    ]
    return tuple(_assemble(p))


def restrict_sockets(*, unix_sockets: bool = False, udp: bool = False) -> None:
    """Install the filter on this (single-threaded) process; it also sets `no_new_privs`."""
    if not available():
        raise SeccompError(0, f"No seccomp filter for {platform.machine()}")
    instructions = program(unix_sockets=unix_sockets, udp=udp)
    filters = (_SockFilter * len(instructions))(*instructions)
    prog = _SockFprog(len(instructions), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        _raise("no_new_privs")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        _raise("filter")


def _raise(what: str):
    error = ctypes.get_errno()
    raise SeccompError(error, f"seccomp {what}: {os.strerror(error)}")
