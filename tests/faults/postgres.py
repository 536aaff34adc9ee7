"""A PostgreSQL server of the test session's own, for tests that stop, crash and restart it:
initdb and pg_ctl from the system's PostgreSQL, run as the postgres user when the tests run as
root (PostgreSQL refuses to run as root)."""

import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import psycopg

DEBIAN_BINDIR = Path("/usr/lib/postgresql/15/bin")
# PostgreSQL refuses to run as root; as root the harness runs it as this system user.
POSTGRES_USER = "postgres"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bindir() -> Path:
    """The directory of initdb, pg_ctl and postgres: `pg_config --bindir`, else Debian's."""
    candidates = []
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    candidates.append(DEBIAN_BINDIR)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise RuntimeError(
        "The fault tests need a PostgreSQL server's programs (initdb, pg_ctl, postgres); none "
        f"found in {', '.join(map(str, candidates))}. On Debian: apt-get install postgresql-15."
    )


def run_as_server_owner() -> dict:
    """`subprocess` arguments that drop root to the postgres user (none when not root)."""
    if os.geteuid() != 0:
        return {}
    try:
        owner = pwd.getpwnam(POSTGRES_USER)
    except KeyError:
        raise RuntimeError(
            f"Running as root, the fault tests start PostgreSQL as the {POSTGRES_USER!r} user, "
            "which does not exist here (apt-get install postgresql-15 creates it)."
        ) from None
    return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}


class PostgresServer:
    """A PostgreSQL server of the test session's own: trust auth, TCP on 127.0.0.1 and a UNIX
    socket in `directory`, no fsync. `stop()`, `start()` and `restart()` inject outages."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory = directory
        self.data = directory / "data"
        self.sockets = directory / "sockets"
        self.log_path = directory / "postgres.log"
        self.port = port or free_port()
        self.bindir = postgres_bindir()

    def init(self) -> None:
        """Create the cluster (initdb) and write its configuration."""
        self.sockets.mkdir(parents=True, exist_ok=True)
        owner = run_as_server_owner()
        if owner:
            for path in (self.directory, self.sockets):
                os.chown(path, owner["user"], owner["group"])
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.sockets}'\n"
                "fsync = off\nfull_page_writes = off\n"
                "shared_buffers = 16MB\nmax_connections = 60\n"
            )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run("pg_ctl", "-D", self.data, "-l", self.log_path, "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends every session cleanly, `immediate` aborts (a crash)."""
        if mode not in {"smart", "fast", "immediate"}:
            raise ValueError(f"unknown shutdown mode {mode!r}")
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "30", "stop")

    def restart(self, down_seconds: float = 0.2, mode: str = "fast") -> None:
        """Stop the server, stay down `down_seconds`, start it again (same port and data)."""
        self.stop(mode)
        time.sleep(down_seconds)
        self.start()

    @property
    def running(self) -> bool:
        """Whether the server runs (pg_ctl status)."""
        return self._run("pg_ctl", "-D", self.data, "status", check=False).returncode == 0

    def url(self, dbname: str = "postgres") -> str:
        """A DATABASE_URL for `dbname` on this server."""
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        """A new autocommit connection to `dbname` (closed by `with`)."""
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=dbname,
            connect_timeout=5,
            autocommit=True,
        )

    def _run(self, program: str, *args, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [self.bindir / program, *map(str, args)],
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=60,
            **run_as_server_owner(),
        )
        if check and result.returncode != 0:
            log = self.log_path.read_text()[-3000:] if self.log_path.exists() else ""
            raise RuntimeError(
                f"{program} {' '.join(map(str, args))} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n--- postgres.log (end) ---\n{log}"
            )
        return result


def create_database(server: PostgresServer, name: str, template: str | None = None) -> None:
    """CREATE DATABASE `name`, cloned from `template` when given."""
    statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    deadline = time.monotonic() + 10
    with server.connect() as connection:
        while True:
            try:
                connection.execute(statement)
                return
            except psycopg.errors.ObjectInUse:
                # A process that just used the template may still be closing its connection.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def drop_database(server: PostgresServer, name: str) -> None:
    """DROP DATABASE `name`, ending whatever sessions it still has."""
    with server.connect() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_database_name(prefix: str = "faults") -> str:
    """A fresh database name."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
