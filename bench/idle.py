"""What the platform costs while nobody uses it (issue 12: "no database commits while idle").

    .venv/bin/python bench/idle.py                    # 90 s window
    .venv/bin/python bench/idle.py --seconds 180

Starts the production topology as separate processes (`tests/topology.py`, as the e2e and fault
tests: each service's API under gunicorn, one worker (none with `--no-apis`), and its `crm worker`: outbox relay, consumer,
daily jobs, queued commands — leads' import queue, identity's notice sender) on fresh PostgreSQL
databases and a fresh RabbitMQ namespace, seeds the demo group, waits until every event of the seed
has been relayed and applied and PostgreSQL's statistics have caught up, then counts the commits
(`pg_stat_database.xact_commit`, read-only transactions included) of each service's database over
the window, with the CPU of each worker process.

The aim, measured against the same window: no commit at all. Every look an idle worker makes ends
without one: the relays' looks (once per `LISTEN_FALLBACK_POLL`, 30 s) and those of leads' import
queue and identity's notice sender (once per 30 s), and the daily jobs' schedulers' reads of the known
groups (once per `Scheduler.GROUPS_EVERY`, 300 s), are read-only transactions ended with ROLLBACK
(`Database.reading`), and the pool's pre-ping is a protocol Sync, not a statement (`shared.db`).
`xact_commit` also counts transactions PostgreSQL runs by itself in a service's backends, with no
statement: a new connection's start-up (the window shows new connections and who opened them),
autovacuum's runs (shown), and an idle backend catching up, in a transaction of its own, with what
other databases of the same server did (shared invalidation messages after their catalog changes; the
notification queue, for a listener). On a server shared with busy databases (other benches, test
suites) that is tens of commits a minute with the platform doing nothing. So the aim is judged with
`--trace`, on the commits the services' statements made (each COMMIT, and each statement run outside a
transaction block), counted from PostgreSQL's log.
Ports: the APIs on --port-base + 1..5 (default 9200).

`--trace FILE` names what committed: PostgreSQL's log (FILE, e.g. /var/log/postgresql/postgresql-15-main.log,
read by the bench; its line prefix must name the user and database, `%u@%d`). The services' databases
are set to `log_statement = 'all'` and their connections terminated (the services reconnect by
themselves, as in the fault tests) before the window, and each statement logged in the window is
counted by service, process (API or worker, from the connection's client port) and text.
"""
from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR, ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

import psycopg  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

from shared.config import SERVICES  # noqa: E402
from shared.scheduler import Scheduler  # noqa: E402
from shared.wake import LISTEN_FALLBACK_POLL  # noqa: E402
from tests.conftest import PG_ADMIN_URL, PG_APP, PG_OWNER, _ensure_role  # noqa: E402
from tests.topology import production_topology  # noqa: E402

STATS_FLUSH = 12.0  # s: an idle backend reports its counts within PGSTAT_IDLE_INTERVAL (10 s)
TICK = os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of a process."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def commits(dbnames: dict[str, str]) -> dict[str, int]:
    return {svc: c for svc, (c, _sessions) in counts(dbnames).items()}


def counts(dbnames: dict[str, str]) -> dict[str, tuple[int, int]]:
    """(commits, sessions) so far by service: a new connection is a commit of its own (PostgreSQL's
    start-up reads the catalogs in a transaction), logged by no statement."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = {name: (int(c), int(n)) for name, c, n in conn.execute(
            "SELECT datname, xact_commit, sessions FROM pg_stat_database WHERE datname = ANY(%s)",
            (list(dbnames.values()),)).fetchall()}
    return {svc: rows[name] for svc, name in dbnames.items()}


def connected_since(dbnames: dict[str, str], since: float) -> dict[int, str]:
    """Backend pid -> its service, of the services' connections opened after `since` (epoch s) and still open."""
    names = {name: svc for svc, name in dbnames.items()}
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT pid, datname, client_port FROM pg_stat_activity WHERE datname = ANY(%s) "
                            "AND backend_start >= to_timestamp(%s)", (list(names), since)).fetchall()
    return {port: names[datname] for _pid, datname, port in rows if port is not None}


def watch_statements(dbnames: dict[str, str], seconds: float) -> dict[tuple[str, str], int]:
    """For `seconds`, every 0.2 s: the statements the services' backends finished since the last look
    (`pg_stat_activity`: a backend's last statement and when its state changed), counted by service
    and statement: what the commits were (a look faster than 0.2 s apart is counted once)."""
    names = {name: svc for svc, name in dbnames.items()}
    last: dict[int, object] = {}
    counted: dict[tuple[str, str], int] = {}
    end = time.monotonic() + seconds
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        while time.monotonic() < end:
            rows = conn.execute("SELECT pid, datname, state_change, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) "
                                "FROM pg_stat_activity WHERE datname = ANY(%s) AND state = 'idle'",
                                (list(names),)).fetchall()
            for pid, datname, changed, query in rows:
                if pid in last and last[pid] != changed:
                    key = (names[datname], query)
                    counted[key] = counted.get(key, 0) + 1
                last[pid] = changed
            time.sleep(0.2)
    return counted


def owners_of_ports(procs: dict[str, int]) -> dict[int, str]:
    """Local TCP port -> the name of the process (or of its parent: a gunicorn master's worker) holding it."""
    names = dict(procs)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent = next((n for n, pid in procs.items() if pid == int(fields[1])), None)
        if parent is not None:
            names[f"{parent}:{stat.parent.name}"] = int(stat.parent.name)
    inode_port: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            inode_port[cols[9]] = int(cols[1].rsplit(":", 1)[1], 16)
    out: dict[int, str] = {}
    for name, pid in names.items():
        try:
            links = [os.readlink(f) for f in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:[") and link[8:-1] in inode_port:
                out[inode_port[link[8:-1]]] = name.split(":")[0]
    return out


def start_tracing(dbnames: dict[str, str]) -> None:
    """log_statement = 'all' for the services' databases, and their connections made again to take it."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in dbnames.values():
            conn.execute(f'ALTER DATABASE "{name}" SET log_statement = \'all\'')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY(%s)",
                     (list(dbnames.values()),))


def backends(dbnames: dict[str, str]) -> dict[int, int]:
    """Backend pid -> the client's TCP port, for the services' connections."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        return dict(conn.execute("SELECT pid, client_port FROM pg_stat_activity WHERE datname = ANY(%s) "
                                 "AND client_port IS NOT NULL", (list(dbnames.values()),)).fetchall())


LOG_LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] \S*@(\S+) LOG:  (?:statement|execute [^:]*): (.*)$")


def traced(log: Path, offset: int, dbnames: dict[str, str], by_backend: dict[int, str]) -> dict[tuple[str, str], int]:
    """(service and process, statement) -> how many times it was logged after `offset` in `log`."""
    services = {name: svc for svc, name in dbnames.items()}
    counted: dict[tuple[str, str], int] = {}
    with log.open("rb") as f:
        f.seek(offset)
        for raw in f.read().decode(errors="replace").splitlines():
            m = LOG_LINE.match(raw)
            if m and m.group(2) in services:
                who = by_backend.get(int(m.group(1)), f"{services[m.group(2)]} (backend {m.group(1)})")
                key = (who, " ".join(m.group(3).split())[:90])
                counted[key] = counted.get(key, 0) + 1
    return counted


def logged_commits(log: Path, offset: int, dbnames: dict[str, str]) -> dict[str, int]:
    """Commits the services' statements made, by service, from PostgreSQL's log after `offset`: each
    COMMIT of a transaction block, and each statement run outside one (its own transaction, committed:
    a pre-ping `;`, an autocommit SELECT, a LISTEN). Unlike `xact_commit`, it leaves out the transactions
    PostgreSQL runs by itself in a service's backends, which no statement shows: a new connection's
    start-up, an idle backend catching up with other databases' catalog changes (shared invalidation)
    or notifications, autovacuum."""
    services = {name: svc for svc, name in dbnames.items()}
    out = dict.fromkeys(dbnames, 0)
    open_block: dict[str, bool] = {}
    with log.open("rb") as f:
        f.seek(offset)
        for raw in f.read().decode(errors="replace").splitlines():
            m = LOG_LINE.match(raw)
            if not m or m.group(2) not in services:
                continue
            pid, svc, word = m.group(1), services[m.group(2)], (m.group(3).split() or [""])[0].rstrip(";").upper()
            if word in ("BEGIN", "START"):
                open_block[pid] = True
            elif word in ("COMMIT", "END"):
                out[svc] += 1 if open_block.pop(pid, False) else 0
            elif word in ("ROLLBACK", "ABORT"):
                open_block.pop(pid, None)
            elif not open_block.get(pid):
                out[svc] += 1
    return out


def autovacuum_runs(urls: dict[str, str]) -> dict[str, int]:
    """Autovacuum and autoanalyze runs so far, per service database: PostgreSQL's own transactions, which
    `xact_commit` counts with the services' (the seed leaves tables for autoanalyze to visit)."""
    out = {}
    for svc, url in urls.items():
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            out[svc] = int(conn.execute("SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) "
                                        "FROM pg_stat_all_tables").fetchone()[0])
    return out


def drained(urls: dict[str, str]) -> bool:
    """Every outbox row sent (the seed's events relayed)."""
    for url in urls.values():
        with psycopg.connect(url, autocommit=True) as conn:
            if conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]:
                return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=90.0, help="the idle window (three fallback polls)")
    ap.add_argument("--settle", type=float, default=30.0, help="seconds after the seed drained, before the window")
    ap.add_argument("--no-apis", dest="apis", action="store_false",
                    help="start the workers only (fewer processes and connections on a crowded machine)")
    ap.add_argument("--trace", type=Path, help="PostgreSQL's log file: count the window's statements by process")
    ap.add_argument("--port-base", type=int, default=int(os.environ.get("IDLE_PORT_BASE", 9200)))
    ap.add_argument("--prefix", default="idle", help="the bus namespace's prefix (a random suffix follows)")
    ap.add_argument("--amqp", default=os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"))
    args = ap.parse_args()
    ports = {svc: args.port_base + 1 + i for i, svc in enumerate(SERVICES)}
    print(f"idle benchmark: {os.cpu_count()} cores, load average {loadavg()}", flush=True)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for role in (PG_OWNER, PG_APP):
            _ensure_role(conn, role)
    tmp = Path(tempfile.mkdtemp(prefix="crm-idle-"))
    try:
        with production_topology(tmp, PG_ADMIN_URL, args.amqp, prefix=args.prefix, ports=ports, api_workers=1,
                                 serve=args.apis) as topo:
            urls = {svc: make_url(topo.database_url(svc)).set(drivername="postgresql")
                    .render_as_string(hide_password=False) for svc in SERVICES}
            dbnames = {svc: make_url(u).database or "" for svc, u in urls.items()}
            print(f"topology up and seeded in {topo.started_in:.0f} s (namespace {topo.namespace})", flush=True)
            deadline = time.monotonic() + 300
            while not drained(urls) and time.monotonic() < deadline:
                time.sleep(1)
            time.sleep(max(args.settle, STATS_FLUSH))  # the seed's last applies and their statistics
            if args.trace:
                start_tracing(dbnames)
                time.sleep(max(args.settle, STATS_FLUSH))  # reconnected, and the reconnections counted
            pids = {svc: topo.workers[svc].pid for svc in SERVICES}
            av0 = autovacuum_runs(urls)  # (its own two statements in each database: before the window)
            time.sleep(1.0)  # its connections' counts reach the statistics as they close: before the window too
            offset, logged = (args.trace.stat().st_size if args.trace else 0), dict.fromkeys(SERVICES, 0)
            c0, cpu0, t0, since = counts(dbnames), {s: cpu_of(p) for s, p in pids.items()}, time.monotonic(), time.time()
            seen = watch_statements(dbnames, args.seconds)
            procs = {**{f"{s} worker": p.pid for s, p in topo.workers.items()},
                     **{f"{s} api": p.pid for s, p in topo.apis.items()}}
            ports = owners_of_ports(procs)
            new_conns = {port: ports.get(port, f"{svc}, port {port}") for port, svc in connected_since(dbnames, since).items()}
            if args.trace:
                by_backend = {pid: ports.get(port, f"port {port}") for pid, port in backends(dbnames).items()}
                seen = traced(args.trace, offset, dbnames, by_backend)
                logged = logged_commits(args.trace, offset, dbnames)
            time.sleep(STATS_FLUSH)  # the window's last commits reach the statistics
            c1, cpu1 = counts(dbnames), {s: cpu_of(p) for s, p in pids.items()}
            av1 = autovacuum_runs(urls)
            secs = time.monotonic() - t0 - STATS_FLUSH
            load = loadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total = sum(c1[s][0] - c0[s][0] for s in SERVICES)
    running = "every API and worker" if args.apis else "every worker (no API)"
    print(f"\nidle for {secs:.0f} s, {running} running, nothing written (load average {load}):")
    print(f"   {'service':<11} {'commits':>7} {'per s':>7} {'by statements':>13} {'worker CPU':>11} "
          f"{'autovacuum runs':>16} {'new connections':>16}")
    for svc in SERVICES:
        n = c1[svc][0] - c0[svc][0]
        by = f"{logged[svc]:13d}" if args.trace else f"{'-':>13}"
        print(f"   {svc:<11} {n:7d} {n / secs:7.3f} {by} {100 * (cpu1[svc] - cpu0[svc]) / secs:9.2f} % "
              f"{av1[svc] - av0[svc]:16d} {c1[svc][1] - c0[svc][1]:16d}")
    if new_conns:
        print("   connections opened in the window and still open, by process: "
              + ", ".join(f"{who} ({n})" for who, n in sorted(Counter(new_conns.values()).items())))
    how = "every statement, from PostgreSQL's log" if args.trace else "sampled every 0.2 s"
    print(f"   statements finished in the window ({how}), most frequent first:")
    for (svc, query), n in sorted(seen.items(), key=lambda kv: -kv[1])[:40]:
        print(f"   {n:5d}  {svc:<16} {query}")
    if args.trace:
        own = sum(logged.values())
        verdict = f"by the services' statements: {own} ({own / secs:.3f}/s)   aim 0   {'OK' if own == 0 else 'ABOVE AIM'}"
    else:
        verdict = "(no --trace: which of them the services' statements made is not known)"
    print(f"   {'all':<11} {total:7d} {total / secs:7.3f}   {verdict}\n"
          f"   aim: no commit by the platform: every idle look (relays every {LISTEN_FALLBACK_POLL:.0f} s, the two "
          f"queues every {LISTEN_FALLBACK_POLL:.0f} s, the schedulers' groups every {Scheduler.GROUPS_EVERY:.0f} s) "
          f"is a read-only transaction ended with ROLLBACK, and the pool's pre-ping is a protocol Sync. "
          f"`commits` (pg_stat_database.xact_commit) also counts transactions PostgreSQL runs by itself in the "
          f"services' backends, with no statement: connection start-ups, idle backends catching up with other "
          f"databases' catalog changes or notifications (a shared server), autovacuum")
    return 0


if __name__ == "__main__":
    sys.exit(main())
