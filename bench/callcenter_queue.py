"""Call-center queue benchmark (issue 5): claims per second with 1, 10 and 50 concurrent agents on
PostgreSQL, next to a bare `SELECT … FOR UPDATE SKIP LOCKED` claim loop on the same table in the same run.

    .venv/bin/python bench/callcenter_queue.py [--tasks 60000] [--seconds 5] [--agents 1,10,50]

A throwaway database is created through postgresql://postgres@127.0.0.1:5432/postgres (override with
--admin-url), migrated with the call center's Alembic history, filled with open tasks, and dropped at the
end. For every agent count, both loops run for the same time on the same freshly reset table:

a) service: `claim_next_task` in a unit of work, exactly as the API runs it: calling window and
   do-not-call checked, the lease written, `callcenter.task.claimed` written to the outbox, committed;
b) bare: one psycopg connection per agent, `SELECT id … ORDER BY priority, due_at LIMIT 1 FOR UPDATE
   SKIP LOCKED` + `UPDATE` of the lease + COMMIT, the least a correct claim can do.

Agents are threads spread over a few processes (each agent has its own connection), so the Python client
is not limited to one core. Claimed leases are long, so within one run a task claimed twice is a double
claim; the count must be 0.
"""
from __future__ import annotations

import os
import sys

# run as a script: put the project root, not bench/, on the path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
ROOT = os.path.dirname(_HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import multiprocessing as mp  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

GROUP = "bench-group"
BARE_CLAIM = """
SELECT id FROM tasks
 WHERE group_id = %(g)s AND status = 'open' AND available_at <= now() AND expires_at > now()
 ORDER BY priority, due_at LIMIT 1 FOR UPDATE SKIP LOCKED"""
BARE_LEASE = """
UPDATE tasks SET agent_id = %(a)s, lease_until = now() + interval '20 minutes',
       available_at = now() + interval '20 minutes', claims = claims + 1 WHERE id = %(id)s"""


def _sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _runtime(url: str, pool: int):
    """The call center's runtime on `url`, with a pool large enough for this process's agents."""
    import tempfile

    from sqlalchemy.orm import sessionmaker

    from services.callcenter.bootstrap import build
    from shared import config
    from shared.bus.outbox import install_outbox
    from shared.db import install_scoping, make_engine

    rt = build(config.load("callcenter", {"CRM_MODE": "embedded", "CRM_VAR_DIR": tempfile.mkdtemp(),
                                          "CALLCENTER_DATABASE_URL": _sa_url(url)}))
    rt.db.engine.dispose()
    rt.db.engine = make_engine(_sa_url(url), pool_size=pool, max_overflow=2)
    rt.db.factory = sessionmaker(rt.db.engine, expire_on_commit=False)
    install_scoping(rt.db.factory, [m.class_ for m in rt.base.registry.mappers])
    install_outbox(rt.db.factory, rt.outbox)
    return rt


def _service_agent(rt, agent: str, stop_at: float, out: list) -> None:
    from services.callcenter.handlers.tasks import claim_next_task
    from shared.tenancy import Scope

    scope = Scope(group_id=GROUP, user_id=agent, role="cc_agent")
    while time.monotonic() < stop_at:
        with rt.uow(scope) as uow:
            task = claim_next_task(uow, agent, GROUP).task
            uow.commit()
        if task is None:
            return
        out.append(task.id)


def _bare_agent(url: str, agent: str, stop_at: float, out: list) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        while time.monotonic() < stop_at:
            with conn.transaction():
                row = conn.execute(BARE_CLAIM, {"g": GROUP}).fetchone()
                if row is None:
                    return
                conn.execute(BARE_LEASE, {"a": agent, "id": row[0]})
            out.append(row[0])


def _process(kind: str, url: str, agents: list[str], start_at: float, seconds: float, results) -> None:
    """One process running some of the agents as threads; sends back every task id it claimed."""
    rt = _runtime(url, len(agents) + 1) if kind == "service" else None
    if rt is not None:  # warm up: imports, first connection, statement compilation
        with rt.db.engine.connect():
            pass
    claimed: dict[str, list] = {a: [] for a in agents}
    time.sleep(max(0.0, start_at - time.time()))
    stop_at = time.monotonic() + seconds
    if kind == "service":
        threads = [threading.Thread(target=_service_agent, args=(rt, a, stop_at, claimed[a])) for a in agents]
    else:
        threads = [threading.Thread(target=_bare_agent, args=(url, a, stop_at, claimed[a])) for a in agents]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((time.monotonic() - t0, [i for ids in claimed.values() for i in ids]))


def _sample_waits(url: str, stop: threading.Event, into: dict) -> None:
    """What the agents' database sessions are doing, sampled every 10 ms (to see what limits a run)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            for state, wtype, wait in conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'"):
                key = "busy (CPU)" if state == "active" and wtype is None else (
                    f"{wtype}:{wait}" if state == "active" else f"{state or '?'}"
                    + (f" ({wtype}:{wait})" if wtype and wtype != "Client" else ""))
                into[key] = into.get(key, 0) + 1
            stop.wait(0.01)


def run(kind: str, url: str, n_agents: int, seconds: float, procs: int, waits: dict | None = None) -> dict:
    agents = [f"{kind}-agent-{i:02d}" for i in range(n_agents)]
    groups = [agents[i::procs] for i in range(min(procs, n_agents))]
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    start_at = time.time() + 4.0  # every process imported and connected before the clock starts
    ps = [ctx.Process(target=_process, args=(kind, url, g, start_at, seconds, results)) for g in groups]
    for p in ps:
        p.start()
    stop = threading.Event()
    sampler = None
    if waits is not None:
        sampler = threading.Thread(target=_sample_waits, args=(url, stop, waits), daemon=True)
        time.sleep(max(0.0, start_at - time.time()))
        sampler.start()
    outs = [results.get(timeout=seconds + 120) for _ in ps]
    stop.set()
    for p in ps:
        p.join()
    ids = [i for _, chunk in outs for i in chunk]
    elapsed = max(e for e, _ in outs)
    return {"claims": len(ids), "per_s": len(ids) / elapsed, "double": len(ids) - len(set(ids))}


def fill(url: str, n: int) -> None:
    """`n` open delivery callbacks from the data generator (crm.datagen.bulk), free to claim now."""
    import psycopg

    from crm.datagen.bulk import TASK_COLUMNS, callback_task_rows, copy_rows

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        copy_rows(cur, "tasks", TASK_COLUMNS, callback_task_rows(
            GROUP, [f"store-{i}" for i in range(12)], [f"brand-{i}" for i in range(3)], n))
        cur.execute("ANALYZE tasks")


def reset(url: str) -> None:
    """Every task open and free again, the outbox empty: each run starts from the same table."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("UPDATE tasks SET agent_id = NULL, lease_until = NULL, claims = 0,"
                     " available_at = now() - interval '1 minute' WHERE claims > 0")
        conn.execute("TRUNCATE outbox")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE tasks")


def prepare(url: str) -> None:
    from services.callcenter.adapters.models import GroupSettings  # noqa: F401
    from shared.tenancy import Scope

    rt = _runtime(url, 2)
    rt.migrate()
    with rt.db.session(Scope.system(GROUP)) as s:  # calls allowed at any hour, so the bench runs any time
        from services.callcenter.handlers.config import settings_for

        cfg = settings_for(s, GROUP)
        cfg.window_start, cfg.window_end = "00:00", "24:00"
        s.add(cfg)
    rt.db.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--admin-url", default=os.environ.get("BENCH_PG_ADMIN_URL",
                                                          "postgresql://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--tasks", type=int, default=60000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--agents", default="1,10,50")
    ap.add_argument("--waits", action="store_true", help="sample what the database sessions wait for")
    ap.add_argument("--procs", type=int, default=max(2, os.cpu_count() or 2),
                    help="processes the agents are spread over")
    args = ap.parse_args()

    import psycopg

    name = f"{os.environ.get('BENCH_DB_PREFIX', 'crm_bench_')}queue_{uuid.uuid4().hex[:10]}"
    url = f"{args.admin_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        prepare(url)
        fill(url, args.tasks)
        print(f"queue benchmark on PostgreSQL ({args.tasks} open tasks, {args.seconds:g} s per run, "
              f"agents spread over up to {args.procs} processes, {os.cpu_count()} CPUs)")
        print(f"{'agents':>6}  {'service claims/s':>16}  {'bare SKIP LOCKED/s':>18}  {'ratio':>5}  "
              f"{'double claims':>13}")
        ok = True
        for n in [int(x) for x in args.agents.split(",")]:
            reset(url)
            svc_waits: dict = {}
            svc = run("service", url, n, args.seconds, args.procs, svc_waits if args.waits else None)
            reset(url)
            bare_waits: dict = {}
            bare = run("bare", url, n, args.seconds, args.procs, bare_waits if args.waits else None)
            ratio = svc["per_s"] / bare["per_s"] if bare["per_s"] else 0.0
            print(f"{n:>6}  {svc['per_s']:>16.0f}  {bare['per_s']:>18.0f}  {ratio:>5.2f}  "
                  f"{svc['double']:>6} / {bare['double']:<6}")
            ok &= svc["double"] == 0 and bare["double"] == 0
            for label, w in (("service", svc_waits), ("bare", bare_waits)):
                if w:
                    total = sum(w.values())
                    top = sorted(w.items(), key=lambda kv: -kv[1])[:4]
                    print(f"        {label} sessions: " + ", ".join(f"{k} {v / total:.0%}" for k, v in top))
            if n == 10:
                print(f"        aim at 10 agents: >= 500 claims/s ({'met' if svc['per_s'] >= 500 else 'NOT met'}),"
                      f" >= half of the bare loop ({'met' if ratio >= 0.5 else 'NOT met'})")
        print("double claims: " + ("0 (as required)" if ok else "FOUND — exactly-once is broken"))
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
