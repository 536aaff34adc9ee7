"""Every process a run starts dies with the run, and a run stays within its processes and its disk.

Used by the sandbox server (`python -I`, no Django): plain functions over /proc and prctl.

Decisions (issue 13):
- Baseline, for a root and a non-root worker alike: the sandbox server is a child subreaper
  (PR_SET_CHILD_SUBREAPER). A process the script detaches (double fork, `setsid`) escapes the
  process-group kill and the parent-death signal, but it is re-parented to the server, never to
  init. When a run ends (returned, failed, timed out, cancelled, killed) the server walks
  /proc/<pid>/task/<tid>/children from itself down, SIGKILLs every process it finds and reaps its
  own children, until none remains; only then does it report the end of the run, so the worker
  collects artifacts from a folder nobody can change any more. When its worker closes the
  request pipe or dies (the server's parent-death signal is SIGTERM, handled), it does the same
  before exiting. The server stays root when the child switches to another uid, so it can kill.
- No PID namespace and no cgroup: both need privileges the production image (uid 10001, no
  capabilities) lacks, so they would only ever be a second path to maintain and test. The gap
  they would close: a worker killed with SIGKILL takes the server down with it (parent-death
  signal), and processes the script detached then outlive both.
- RLIMIT_NPROC counts every task (threads too) of the real uid, and uid 0 is exempt. So the
  server sets it on the child (prlimit, before the script starts): to SANDBOX_MAX_PROCESSES when
  the server is root (it bites when the child runs under a uid of its own; as root it does
  nothing), and when the worker is not root to SANDBOX_MAX_PROCESSES plus the tasks its uid
  already has (its own worker, gunicorn threads, other workers' runs in the same container or
  on the node without user namespaces: a run may get less when those grow meanwhile). Besides,
  the server counts the run's processes while it executes and kills the run over the limit:
  exact in number, but polled, so a fast fork loop can briefly exceed it.
- Disk: the working directory lies under the system temp dir, and RLIMIT_FSIZE caps one file
  only. A per-run tmpfs needs root (mount), so instead the server measures the working directory
  while the run executes (every 0.1 s, less often for folders of many files; each entry counts
  at least one 4 KiB block, so empty files count too) and kills the run over
  RUN_DISK_MAX_BYTES, and checks once more when the run's processes are dead (a run that ends
  over it fails). It may be exceeded briefly by what the script writes between two checks.
"""

import contextlib
import ctypes
import os
import resource
import shutil
import signal
import time

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
BLOCK = 4096
PROCESS_CHECK_SECONDS = 0.05
DISK_CHECK_SECONDS = 0.1

_LIBC = ctypes.CDLL(None, use_errno=True)


def become_subreaper() -> None:
    """Make this process inherit every orphan among its descendants."""
    if _LIBC.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def kill_all_when_parent_dies() -> None:
    """When the parent (the worker) dies, or on SIGTERM or SIGINT (a stop of the worker's whole
    process group, Ctrl-C), kill every descendant and exit."""

    def on_parent_death(signum, frame) -> None:
        kill_descendants()
        os._exit(0)

    parent = os.getppid()
    signal.signal(signal.SIGTERM, on_parent_death)
    signal.signal(signal.SIGINT, on_parent_death)
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it died before the signal was asked for
        on_parent_death(signal.SIGTERM, None)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as file:
                found += [int(child) for child in file.read().split()]
    return found


def descendants(spare: frozenset[int] = frozenset()) -> list[int]:
    """Every process below this one (zombies included), parents before their children; but
    for its children in `spare` and theirs."""
    found, index = [pid for pid in _children(os.getpid()) if pid not in spare], 0
    while index < len(found):
        found += _children(found[index])
        index += 1
    return found


def reap() -> dict[int, int]:
    """Reap this process's children that have ended: their wait statuses by pid."""
    ended = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if not pid:
            break
        ended[pid] = status
    return ended


def kill_descendants(spare: frozenset[int] = frozenset()) -> dict[int, int]:
    """SIGKILL every process below this one and reap those that are its children, until none
    remains; returns the wait statuses of the children reaped, by pid. A process this one may
    not signal (a set-user-ID program that a non-root server's script ran, where nothing set
    no_new_privs) is left alone rather than tried forever. Children in `spare` (the sandbox's
    next standby, forked from the server itself) are left alone, and theirs."""
    ended: dict[int, int] = {}
    untouchable: set[int] = set()
    while found := [pid for pid in descendants(spare) if pid not in untouchable]:
        own = set(_children(os.getpid())) - spare
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            except PermissionError:
                untouchable.add(pid)
        for pid in own - untouchable:  # killed: each wait is short; orphans come next round
            with contextlib.suppress(ChildProcessError):
                ended[pid] = os.waitpid(pid, 0)[1]
    return ended


def _tasks_of(uid: int) -> int:
    """How many tasks (threads included) this process can see running as real uid `uid`."""
    count = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{name}/status") as file:
                fields = dict(line.split(":", 1) for line in file if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
    return count


def limit_processes(pid: int, most: int) -> None:
    """Set RLIMIT_NPROC of the child `pid` (see the module's docstring for the value)."""
    # Not root: the uid's tasks so far count, the child itself among them.
    limit = most if os.geteuid() == 0 else most + _tasks_of(os.getuid()) - 1
    _, hard = resource.prlimit(pid, resource.RLIMIT_NPROC)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.prlimit(pid, resource.RLIMIT_NPROC, (limit, limit))


def disk_usage(dir_fd: int) -> float:
    """Bytes used beneath the folder `dir_fd`, walked by descriptor (links are never followed):
    each entry counts its allocated blocks, and at least one. A folder it may not read (a
    script can take its own permissions away) makes the usage unmeasurable: infinite."""
    total, hidden = 0, []

    def on_error(error: OSError) -> None:
        if isinstance(error, PermissionError):
            hidden.append(error)

    for _, folders, files, folder_fd in os.fwalk(".", onerror=on_error, dir_fd=dir_fd):
        total += BLOCK * len(folders)
        for name in files:
            with contextlib.suppress(OSError):
                blocks = os.stat(name, dir_fd=folder_fd, follow_symlinks=False).st_blocks
                total += max(blocks * 512, BLOCK)
    return float("inf") if hidden else total


class Watch:
    """Polled while a run executes: says when it has more processes or uses more disk than it
    may ("processes" or "disk")."""

    def __init__(self, workdir_fd: int, most_processes: int, disk_bytes: int) -> None:
        self.workdir_fd = workdir_fd
        self.most_processes, self.disk_bytes = most_processes, disk_bytes
        now = time.monotonic()
        self.processes_at, self.disk_at = now, now + DISK_CHECK_SECONDS

    def check(self) -> str | None:
        now = time.monotonic()
        if self.most_processes and now >= self.processes_at:
            self.processes_at = now + PROCESS_CHECK_SECONDS
            if len(descendants()) > self.most_processes:
                return "processes"
        if self.disk_bytes and now >= self.disk_at:
            used = disk_usage(self.workdir_fd)
            spent = time.monotonic() - now
            self.disk_at = time.monotonic() + max(DISK_CHECK_SECONDS, 10 * spent)
            if used > self.disk_bytes:
                return "disk"
        return None

    def check_disk(self) -> str | None:
        """The final check, once every process of the run is dead: "disk" when it used too much."""
        if self.disk_bytes and disk_usage(self.workdir_fd) > self.disk_bytes:
            return "disk"
        return None


def remove_tree(folder: str | os.PathLike) -> None:
    """Remove a run's working folder once every process of the run is dead, though its script
    took permissions away from parts of it: a worker that is not root owns the files but could
    neither list nor empty such folders, and would leave them on disk run after run."""
    tried: set[str] = set()

    def retry(function, path: str, error) -> None:
        if path in tried:
            return
        tried.add(path)
        with contextlib.suppress(OSError):
            for part in (os.path.dirname(path), path):
                if os.path.isdir(part) and not os.path.islink(part):
                    os.chmod(part, 0o700)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, onerror=retry)
            else:
                os.unlink(path)

    shutil.rmtree(folder, onerror=retry)
