"""A bench run's own throwaway resources (databases, RabbitMQ vhost, temp folder): named after the run's
process id, removed on every way out of the run, and what a dead run left removed by a later one.

Every name carries the pid of the run that made it (`RunNames`); a later run removes a name of its own kind
(same prefix) only when that process no longer exists — another run's resources, living or of another
prefix, are never touched. A pid reused since by an unrelated process keeps the leftovers until it ends:
the safe side. SIGINT and SIGTERM become `SystemExit` in the main thread, so the `finally` blocks and
context managers on the way out run; a second signal during the clean-up is ignored.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

#: the tails the names end with: `_pg_database`'s 12 hex digits, the vhost's 8, `mkdtemp`'s 8 characters
DB_TAIL, VHOST_TAIL, TMP_TAIL = r"[0-9a-f]{12}", r"[0-9a-f]{8}", r"[a-z0-9_]{8}"


class RunNames:
    """The prefixes of one kind of run's resources (`kind`: the bench, e.g. "pipe"), BENCH_DB_PREFIX and
    BENCH_PREFIX (a machine shared by several people's runs) first; `mine(prefix)` adds this run's pid."""

    def __init__(self, kind: str) -> None:
        self.db_prefix = f"{os.environ.get('BENCH_DB_PREFIX', 'crm_bench_')}{kind}_"
        self.vhost_prefix = f"crm{kind}_{os.environ.get('BENCH_PREFIX', '')}"
        self.tmp_prefix = f"crm-{kind}-"

    @staticmethod
    def mine(prefix: str) -> str:
        return f"{prefix}{os.getpid()}_"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def dead_run(name: str, prefix: str, tail: str) -> bool:
    """Whether `name` is `prefix`, a pid and `tail`, and that process is gone."""
    m = re.fullmatch(re.escape(prefix) + r"(\d+)_" + tail, name)
    return bool(m) and not pid_alive(int(m.group(1)))


def vhosts() -> list[str]:
    """RabbitMQ's vhosts (empty without rabbitmqctl)."""
    if not shutil.which("rabbitmqctl"):
        return []
    out = subprocess.run(["rabbitmqctl", "-q", "list_vhosts", "--no-table-headers", "name"], capture_output=True,
                         text=True, timeout=60)
    return out.stdout.split() if out.returncode == 0 else []


def drop_vhost(vhost: str | None) -> None:
    if vhost:
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=60)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def remove_dead_runs(names: RunNames, admin_url: str) -> list[str]:
    """Drop the databases and vhosts and remove the temp folders that runs of this kind left when they
    died (their pid gone); returns what was removed."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        dbs = [n for (n,) in conn.execute("SELECT datname FROM pg_database").fetchall()]
    removed = []
    for db in dbs:
        if dead_run(db, names.db_prefix, DB_TAIL):
            drop_database(admin_url, db)
            removed.append(f"database {db}")
    for vhost in vhosts():
        if dead_run(vhost, names.vhost_prefix, VHOST_TAIL):
            drop_vhost(vhost)
            removed.append(f"vhost {vhost}")
    for path in Path(tempfile.gettempdir()).glob(f"{names.tmp_prefix}*"):
        if path.is_dir() and dead_run(path.name, names.tmp_prefix, TMP_TAIL):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(f"folder {path}")
    return removed


def quiet() -> None:
    """From now on SIGINT and SIGTERM are ignored: the clean-up under way is not cut short."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def _exit_on(signum: int, _frame) -> None:
    quiet()
    print(f"\nstopped by {signal.Signals(signum).name}: cleaning up", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


def exit_on_signals() -> None:
    """SIGINT and SIGTERM raise `SystemExit` in the main thread (once), so that the clean-up runs."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit_on)
