"""PostgreSQL for the embedded mode, on request: `CRM_EMBEDDED_ENGINE=postgres make run` (issue 12).

The server comes from the `pgserver` wheel (PostgreSQL 16's binaries inside a Python package); its
data lives under `<var>/pg` and it listens on a Unix socket in that folder only (no TCP port, so two
var dirs never collide and the machine's own PostgreSQL is left alone). As root, `pgserver` runs
`initdb` and `postgres` as a system user `pgserver` (PostgreSQL refuses to run as root), creating
that user with `useradd` if needed and opening the var dir's parent folders for it to traverse.

Then the same layout as production: a database per service owned by `crm_owner` (which runs the
migrations) and used by `crm_app`, a role that owns nothing and does not bypass row-level security,
so the services run the PostgreSQL paths (claims, RLS policies, LISTEN/NOTIFY relays) of production.
The bus stays the filesystem transport of the embedded mode.

After a crash (`kill -9` of `crm serve`) the server keeps running; the next start uses it. A
`postmaster.pid` whose process is not this data dir's postgres (a reboot reused the pid) is removed
first. `max_connections` is raised to 300 on the first start (one restart). `stop` ends the server
(`pg_ctl stop -m fast`). Measured by `bench/embedded_pg.py` (docs/performance.md).
"""
from __future__ import annotations

import logging
import os
import subprocess
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from shared.config import SERVICES

if TYPE_CHECKING:
    from pgserver import PostgresServer

log = logging.getLogger(__name__)

ENGINE_ENV = "CRM_EMBEDDED_ENGINE"
ENGINES = ("sqlite", "postgres")
OWNER, APP = "crm_owner", "crm_app"
#: 4 serving processes × 5 services × (a pool of 10 kept connections + the relay's listener), with room
MAX_CONNECTIONS = 300


def engine_of(env: dict | None = None) -> str:
    """The engine `crm serve` runs the services on: `sqlite` (the default) or `postgres`."""
    engine = (os.environ if env is None else env).get(ENGINE_ENV) or "sqlite"
    if engine not in ENGINES:
        raise SystemExit(f"{ENGINE_ENV} must be one of {', '.join(ENGINES)}, not {engine!r}")
    return engine


class EmbeddedPostgres:
    """One PostgreSQL server with its data in `<var_dir>/pg`."""

    def __init__(self, var_dir: Path):
        self.pgdata = Path(var_dir).resolve() / "pg"
        self.server: PostgresServer | None = None

    def start(self) -> dict[str, str]:
        """Start the server (or use the one already running on this data dir), create the roles and
        databases that are missing; returns the environment that points every service at it."""
        with warnings.catch_warnings():  # without XDG_RUNTIME_DIR its lock file goes to /tmp/runtime-<uid>: fine
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
            import pgserver

        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self._server_pid() is None:  # nothing runs: a pid file or pgserver's handle of this process is stale
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)  # pgserver would trust it
            pgserver.PostgresServer._instances.pop(self.pgdata, None)  # it would not start the server again
        # cleanup_mode=None: this object stops the server (`stop`), not pgserver's exit hook, which
        # skips the stop while a process killed earlier is still on its list of handles
        try:
            self.server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        except (subprocess.TimeoutExpired, AssertionError):
            # pgserver gives `pg_ctl start` 10 s (up to 9.2 s measured at load 57) and fails a server that
            # is still starting; such a server comes up by itself: wait for it, then try once more
            log.warning("pgserver gave up starting PostgreSQL on %s; waiting for the server itself", self.pgdata)
            pgserver.PostgresServer._instances.pop(self.pgdata, None)
            self._wait_ready(timeout=120)
            self.server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        self._ensure_settings()
        self._ensure_databases()
        return self.environment()

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self._socket_dir()}"

    def url(self, role: str, database: str) -> str:
        return f"postgresql+psycopg://{role}@/{database}?host={self._socket_dir()}"

    def environment(self) -> dict[str, str]:
        env = {}
        for svc in SERVICES:
            env[f"{svc.upper()}_DATABASE_URL"] = self.url(APP, f"crm_{svc}")
            env[f"{svc.upper()}_MIGRATE_DATABASE_URL"] = self.url(OWNER, f"crm_{svc}")
        return env

    def stop(self) -> None:
        """Stop the server if it runs (a fast shutdown: open sessions are ended)."""
        if self.server is not None and self._server_pid() is not None:
            self._pg_ctl("stop")
        self.server = None

    def _pg_ctl(self, action: str) -> None:
        """`pg_ctl <action>` as the user the server runs as (pgserver's system user when root); a
        restart keeps the options of the first start (the socket only)."""
        from pgserver._commands import POSTGRES_BIN_PATH

        assert self.server is not None
        subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.pgdata / "log"),
                        "-w", "-t", "120", "-m", "fast", action], user=self.server.system_user, check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=180)

    def _pid_file(self) -> list[str]:
        try:
            return (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []

    def _socket_dir(self) -> str:
        lines = self._pid_file()
        assert len(lines) > 4 and lines[4], f"no server runs on {self.pgdata}: start() first"
        return lines[4]

    def _server_pid(self) -> int | None:
        """The pid in `postmaster.pid` if it is this data dir's server. pgserver takes any live process
        with that pid for the server; after a reboot the pid may be another program's, and it would
        hand out a socket nobody serves."""
        import psutil

        lines = self._pid_file()
        if not lines or not lines[0].strip().isdigit():
            return None
        pid = int(lines[0])
        try:
            proc = psutil.Process(pid)
            ours = proc.name() == "postgres" and str(self.pgdata) in " ".join(proc.cmdline())
        except psutil.Error:
            ours = False
        if not ours:
            log.warning("%s names pid %s, which is not this data dir's server", self.pgdata / "postmaster.pid", pid)
        return pid if ours else None

    def _wait_ready(self, timeout: float) -> None:
        """Until `postmaster.pid` says ready, or no server has shown up for 10 s (pgserver reads the file
        whole and fails on one the server is still writing)."""
        deadline, seen = time.monotonic() + timeout, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - seen < 10:
            lines = self._pid_file()
            if len(lines) > 7 and lines[7].strip() == "ready" and self._server_pid() is not None:
                return
            if lines:
                seen = time.monotonic()
            time.sleep(0.2)

    def _ensure_settings(self) -> None:
        """`max_connections` for up to four serving processes, each with a pool per service and the relays'
        listeners (PostgreSQL's default of 100 runs out under 50 people); it takes a restart, once."""
        import psycopg

        with psycopg.connect(self.admin_url(), autocommit=True, connect_timeout=30) as conn:
            row = conn.execute("SHOW max_connections").fetchone()
            if row is not None and int(row[0]) >= MAX_CONNECTIONS:
                return
            conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
        self._pg_ctl("restart")

    def _ensure_databases(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url(), autocommit=True, connect_timeout=30) as conn:
            for role in (OWNER, APP):
                if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS')
            for svc in SERVICES:
                name = f"crm_{svc}"
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                    conn.execute(f'CREATE DATABASE "{name}" OWNER "{OWNER}"')
                    conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')  # the migration grants the app role
