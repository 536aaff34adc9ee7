"""Hostile scripts against the sandbox's confinement: the sockets Landlock does not rule, and
the privileges of the worker."""

import contextlib
import errno
import os
import platform
import shutil
import signal
import socket
import tempfile
import uuid

import pytest
from django.conf import settings

from scripts_api import privileges, seccomp
from tests.scripts_api.test_sandbox import run

CONNECT = """
import socket
def main(family: str, address):
    if family == "AF_UNIX" and address.startswith("@"):
        address = "\\0" + address[1:]
    try:
        sock = socket.socket(getattr(socket, family), socket.SOCK_STREAM)
        sock.connect(address if isinstance(address, str) else tuple(address))
        sock.sendall(b"COPY x FROM PROGRAM 'id'")
    except OSError as error:
        return type(error).__name__
    return "connected"
"""


@pytest.fixture
def open_folder():
    """A folder anybody may enter and write, as /run/postgresql or a docker.sock's would be."""
    folder = tempfile.mkdtemp(prefix="rbas-sockets-")
    os.chmod(folder, 0o777)  # noqa: S103 - the point of the test
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def unix_server(open_folder):
    path = os.path.join(open_folder, "service.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o777)  # noqa: S103 - file permissions alone would let anybody connect
    server.listen(4)
    yield path
    server.close()


def test_scripts_cannot_connect_to_a_pathname_unix_socket(tmp_path, unix_server):
    outcome = run(CONNECT, {"family": "AF_UNIX", "address": unix_server}, tmp_path=tmp_path)
    assert outcome.status == "succeeded", outcome.stderr
    assert outcome.result == "PermissionError"


POSTGRES_SOCKET = "/var/run/postgresql/.s.PGSQL.5432"


@pytest.mark.skipif(not os.path.exists(POSTGRES_SOCKET), reason="no local PostgreSQL socket")
def test_scripts_cannot_reach_the_local_postgresql_socket(tmp_path):
    outcome = run(CONNECT, {"family": "AF_UNIX", "address": POSTGRES_SOCKET}, tmp_path=tmp_path)
    assert outcome.result == "PermissionError"


def test_scripts_cannot_connect_to_an_abstract_unix_socket(tmp_path):
    name = f"rbas-test-{uuid.uuid4().hex}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("\0" + name)
    server.listen(4)
    try:
        outcome = run(CONNECT, {"family": "AF_UNIX", "address": "@" + name}, tmp_path=tmp_path)
    finally:
        server.close()
    assert outcome.result == "PermissionError"


def test_scripts_may_use_unix_sockets_when_the_setting_allows(tmp_path, unix_server, settings):
    settings.SANDBOX_UNIX_SOCKETS = True
    outcome = run(CONNECT, {"family": "AF_UNIX", "address": unix_server}, tmp_path=tmp_path)
    assert outcome.result == "connected", outcome.stderr


@pytest.fixture
def udp_server():
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.5)
    yield server
    server.close()


SEND_DATAGRAM = """
import socket
def main(port: int):
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.sendto(b"exfiltrated", ("127.0.0.1", port))
    except OSError as error:
        return type(error).__name__
    return "sent"
"""


def received(server: socket.socket) -> bytes | None:
    try:
        return server.recv(100)
    except TimeoutError:
        return None


def test_scripts_cannot_send_udp_datagrams_when_the_setting_refuses(tmp_path, udp_server, settings):
    settings.SANDBOX_UDP = False
    port = udp_server.getsockname()[1]
    outcome = run(SEND_DATAGRAM, {"port": port}, tmp_path=tmp_path)
    assert outcome.result == "PermissionError", outcome.stderr
    assert received(udp_server) is None


def test_scripts_may_send_udp_datagrams_by_default_for_dns(tmp_path, udp_server):
    outcome = run(SEND_DATAGRAM, {"port": udp_server.getsockname()[1]}, tmp_path=tmp_path)
    assert outcome.result == "sent", outcome.stderr
    assert received(udp_server) == b"exfiltrated"


def test_scripts_cannot_open_raw_packet_netlink_or_sctp_sockets(tmp_path):
    outcome = run(
        """
        import socket
        KINDS = {
            "raw icmp": (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
            "raw ipv6": (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),
            "ping": (socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP),
            "packet": (socket.AF_PACKET, socket.SOCK_RAW, 0),
            "netlink": (socket.AF_NETLINK, socket.SOCK_RAW, 0),
            "sctp": (socket.AF_INET, socket.SOCK_STREAM, 132),
            "unix datagram pair": "pair",
        }
        def main():
            found = {}
            for name, kind in KINDS.items():
                try:
                    if kind == "pair":
                        socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
                    else:
                        socket.socket(*kind).close()
                    found[name] = "opened"
                except OSError as error:
                    found[name] = type(error).__name__
            return found
        """,
        tmp_path=tmp_path,
    )
    assert outcome.status == "succeeded", outcome.stderr
    assert set(outcome.result.values()) == {"PermissionError"}, outcome.result


def test_socketpairs_and_multiprocessing_pipes_still_work(tmp_path):
    outcome = run(
        """
        import multiprocessing, socket
        def main():
            left, right = socket.socketpair()
            left.sendall(b"ping")
            end, other_end = multiprocessing.Pipe()
            end.send({"got": right.recv(4).decode()})
            return other_end.recv()
        """,
        tmp_path=tmp_path,
    )
    assert outcome.result == {"got": "ping"}, outcome.stderr


def test_tcp_to_an_allowed_port_still_connects(tmp_path, settings):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    settings.SANDBOX_TCP_PORTS = str(port)
    try:
        outcome = run(
            CONNECT, {"family": "AF_INET", "address": ["127.0.0.1", port]}, tmp_path=tmp_path
        )
    finally:
        server.close()
    assert outcome.result == "connected", outcome.stderr


def test_tcp_fast_open_cannot_reach_a_port_landlock_refuses(tmp_path, settings):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    settings.SANDBOX_TCP_PORTS = "443"
    try:
        outcome = run(
            """
            import socket
            def main(port: int):
                sock = socket.socket()
                try:  # connects and sends in one go, without connect()
                    sock.sendto(b"COPY", socket.MSG_FASTOPEN, ("127.0.0.1", port))
                except OSError as error:
                    return type(error).__name__
                return "sent"
            """,
            {"port": port},
            tmp_path=tmp_path,
        )
        with contextlib.suppress(TimeoutError):
            server.accept()[0].close()
            pytest.fail("the script connected")
    finally:
        server.close()
    assert outcome.result == "PermissionError", outcome.stderr


def test_scripts_cannot_listen_on_a_tcp_port(tmp_path):
    outcome = run(
        """
        import socket
        def main():
            sock = socket.socket()
            try:  # listen() binds an unbound socket to a free port: a server in the pod's network
                sock.listen(1)
            except OSError as error:
                return type(error).__name__
            return sock.getsockname()
        """,
        tmp_path=tmp_path,
    )
    assert outcome.result == "PermissionError", outcome.result


PRIVILEGES = """
import ctypes, os
PR_CAPBSET_READ, PR_GET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET = 23, 39, 47, 1

class Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]

def main():
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = Header(0x20080522, 0), (Data * 2)()
    assert libc.capget(ctypes.byref(header), data) == 0
    sets = {
        name: sum(getattr(part, name) << (32 * i) for i, part in enumerate(data))
        for name in ("effective", "permitted", "inheritable")
    }
    held = lambda *args: libc.prctl(*args, 0, 0) == 1
    sets["bounding"] = sum(1 << cap for cap in range(64) if held(PR_CAPBSET_READ, cap, 0))
    sets["ambient"] = sum(
        1 << cap for cap in range(64) if held(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap)
    )
    try:
        os.setuid(0)
        setuid = "became root"
    except OSError as error:
        setuid = type(error).__name__
    return {
        "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
        "capabilities": sets, "no_new_privs": libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
        "setuid": setuid,
    }
"""


def test_scripts_hold_no_capabilities_and_cannot_become_root(tmp_path):
    outcome = run(PRIVILEGES, tmp_path=tmp_path)
    assert outcome.status == "succeeded", outcome.stderr
    found = outcome.result
    assert found["capabilities"] == dict.fromkeys(
        ("effective", "permitted", "inheritable", "bounding", "ambient"), 0
    )
    assert found["no_new_privs"] == 1
    assert found["setuid"] == "PermissionError"


@pytest.mark.skipif(os.geteuid() != 0, reason="the worker is not root here")
def test_a_root_worker_runs_scripts_as_the_sandbox_uid(tmp_path):
    outcome = run(PRIVILEGES, tmp_path=tmp_path)
    found = outcome.result
    assert (found["uid"], found["euid"]) == (settings.SANDBOX_UID, settings.SANDBOX_UID)
    assert found["gid"] == settings.SANDBOX_GID
    assert found["groups"] == []


def test_a_script_of_a_root_worker_writes_files_the_worker_can_read(tmp_path):
    outcome = run(
        """
        import os
        def main():
            with open(os.path.join(os.environ["RBAS_OUTPUT_DIR"], "report.csv"), "w") as f:
                f.write("a,b\\n")
            return os.environ["RBAS_OUTPUT_DIR"]
        """,
        tmp_path=tmp_path,
    )
    assert outcome.status == "succeeded", outcome.stderr
    with open(os.path.join(outcome.result, "report.csv")) as file:
        assert file.read() == "a,b\n"


def test_scripts_cannot_use_io_uring_to_open_sockets_behind_the_filter(tmp_path):
    outcome = run(
        """
        import ctypes, os
        def main():
            libc = ctypes.CDLL(None, use_errno=True)
            params = ctypes.create_string_buffer(120)
            fd = libc.syscall(425, 4, params)  # io_uring_setup: the same number on x86_64, aarch64
            return "set up" if fd >= 0 else os.strerror(ctypes.get_errno())
        """,
        tmp_path=tmp_path,
    )
    assert outcome.result == os.strerror(errno.EPERM), outcome.stderr


@pytest.mark.skipif(platform.machine() != "x86_64", reason="a 32-bit x86 system call")
def test_a_32_bit_system_call_kills_the_script(tmp_path):
    outcome = run(
        """
        import ctypes, mmap
        # push rbx; mov eax, 359 (i386 socket); mov ebx, 1 (AF_UNIX); mov ecx, 1 (SOCK_STREAM);
        # xor edx, edx; int 0x80; pop rbx; ret
        CODE = bytes.fromhex("53b867010000bb01000000b90100000031d2cd805bc3")
        def main():
            memory = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            memory.write(CODE)
            address = ctypes.addressof(ctypes.c_char.from_buffer(memory))
            return ctypes.CFUNCTYPE(ctypes.c_int)(address)()
        """,
        tmp_path=tmp_path,
    )
    assert outcome.exit_code == -signal.SIGSYS, outcome


def _evaluate(program, data: dict) -> int:
    """Run a classic BPF seccomp program on a system call described by `data`."""
    words = {0: data["nr"], 4: data["arch"]}
    for index, value in enumerate(data.get("args", ())):
        words[16 + 8 * index] = value & 0xFFFFFFFF
    accumulator, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code == 0x20:
            accumulator = words.get(k, 0)
        elif code == 0x54:
            accumulator &= k
        elif code in (0x15, 0x35):
            taken = accumulator == k if code == 0x15 else accumulator >= k
            pc += jt if taken else jf
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x86_64 system call numbers")
def test_the_filter_decides_each_kind_of_socket():
    x86_64, i386, allow, kill = 0xC000003E, 0x40000003, 0x7FFF0000, 0x80000000
    deny = 0x00050000 | errno.EPERM
    strict = seccomp.program(unix_sockets=False, udp=False)
    loose = seccomp.program(unix_sockets=True, udp=True)
    AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET = 1, 2, 10, 16, 17
    STREAM, DGRAM, RAW, SEQPACKET, CLOEXEC = 1, 2, 3, 5, 0o2000000
    FASTOPEN = 0x20000000
    cases = [
        # (system call, arch, args, strict, loose)
        (0, x86_64, (), allow, allow),  # read
        (41, x86_64, (AF_INET, STREAM | CLOEXEC, 0), allow, allow),
        (41, x86_64, (AF_INET6, STREAM, 6), allow, allow),
        (41, x86_64, (AF_INET, STREAM, 132), deny, deny),  # SCTP
        (41, x86_64, (AF_INET, DGRAM, 0), deny, allow),
        (41, x86_64, (AF_INET6, DGRAM, 17), deny, allow),
        (41, x86_64, (AF_INET, DGRAM, 1), deny, deny),  # ICMP "ping" sockets
        (41, x86_64, (AF_INET, RAW, 1), deny, deny),
        (41, x86_64, (AF_UNIX, STREAM, 0), deny, allow),
        (41, x86_64, (AF_UNIX | 1 << 32, STREAM, 0), deny, allow),  # the kernel reads an int
        (41, x86_64, (AF_NETLINK, RAW, 0), deny, deny),
        (41, x86_64, (AF_PACKET, RAW, 0), deny, deny),
        (53, x86_64, (AF_UNIX, STREAM, 0), allow, allow),
        (53, x86_64, (AF_UNIX, SEQPACKET, 0), allow, allow),
        (53, x86_64, (AF_UNIX, DGRAM, 0), deny, allow),
        (425, x86_64, (), deny, deny),  # io_uring_setup
        (50, x86_64, (3, 5), deny, deny),  # listen
        (44, x86_64, (3, 0, 5, 0), allow, allow),  # sendto
        (44, x86_64, (3, 0, 5, FASTOPEN | 0x40), deny, deny),
        (46, x86_64, (3, 0, FASTOPEN), deny, deny),  # sendmsg
        (46, x86_64, (3, 0, 0x4000), allow, allow),
        (307, x86_64, (3, 0, 2, FASTOPEN), deny, deny),  # sendmmsg
        (0x40000000 | 41, x86_64, (AF_UNIX, STREAM, 0), deny, deny),  # x32
        (359, i386, (AF_UNIX, STREAM, 0), kill, kill),
    ]
    for nr, arch, args, strict_answer, loose_answer in cases:
        call = {"nr": nr, "arch": arch, "args": args}
        assert _evaluate(strict, call) == strict_answer, call
        assert _evaluate(loose, call) == loose_answer, call


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another non-root user")
def test_a_non_root_worker_keeps_its_uid_and_drops_its_capabilities():
    """The production image's case (uid 10001), played by a forked child of this root process."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - reports through the pipe
        try:
            os.setresgid(10001, 10001, 10001)
            os.setresuid(10001, 10001, 10001)
            privileges.drop(uid=settings.SANDBOX_UID, gid=settings.SANDBOX_GID)
            with open("/proc/self/status") as status:
                lines = [line for line in status if line.startswith(("Uid", "Cap", "NoNewPrivs"))]
            os.write(write, "".join(lines).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        status = dict(line.split(":", 1) for line in pipe.read().splitlines())
    os.waitpid(pid, 0)
    assert status["Uid"].split() == ["10001"] * 4
    for name in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(status[name], 16) == 0, name
    assert status["NoNewPrivs"].strip() == "1"


def test_a_script_still_dies_with_its_sandbox_server_after_dropping_its_uid(tmp_path):
    """Changing credentials clears the parent-death signal: the child must set it again."""
    outcome = run(
        """
        import ctypes
        def main():
            signal = ctypes.c_int()
            ctypes.CDLL(None).prctl(2, ctypes.byref(signal), 0, 0, 0)  # PR_GET_PDEATHSIG
            return signal.value
        """,
        tmp_path=tmp_path,
    )
    assert outcome.result == signal.SIGKILL, outcome.stderr
