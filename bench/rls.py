"""What forced row-level security costs on the leads service's hot paths (PostgreSQL).

    .venv/bin/python bench/rls.py                         # 300,000 leads in the group, 100,000 in another
    .venv/bin/python bench/rls.py --group-leads 1000000 --n 300

Two copies of the leads service as in production, each migrated as the owner of a throwaway database
and run as a role that owns nothing, filled with the same generated leads: in one the policies hold
(and each transaction sends its scope's settings), in the other row-level security is disabled on
every table and no settings are sent. Each iteration runs the same workload on both, in alternating
order, so the load of a shared machine falls on both alike. Through the scoped ORM session:

- tx:       a transaction with one `SELECT 1` (the settings' round trip alone);
- get:      a store manager reads one lead by id;
- list:     a store manager's lead list, level + overdue, count and first page of 50 (the API's query),
            and a consultant's (their own leads);
- board:    the store board (open leads by level, overdue per consultant, SLA, defeats, unassigned);
- create:   a consultant creates a lead (INSERT checked by the policy, commit).

Prints p50/p95/mean per workload with and without, and the difference. Not a test: nothing fails.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, event, make_url, select, text  # noqa: E402

from services.leads import views as queries  # noqa: E402
from services.leads.adapters.models import Base, Lead, StaffRef, StoreRef  # noqa: E402
from crm import datagen  # noqa: E402
from crm.datagen.bulk import LEAD_COLUMNS, copy_rows, lead_rows  # noqa: E402
from shared import config, rls  # noqa: E402
from shared.tenancy import Scope  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
OWNER, APP = "crm_bench_owner", "crm_bench_app"
GROUP, OTHER, BRAND = "bench-group", "bench-other", "bench-brand"
STORES = [f"bench-store-{i:02d}" for i in range(12)]
OTHER_STORES = [f"other-store-{i:02d}" for i in range(4)]
CONSULTANTS = {st: [f"{st}-c{j}" for j in range(5)] for st in STORES + OTHER_STORES}
PHONE_PREFIX = {GROUP: "137", OTHER: "138"}  # numbered phones of one group never meet the other's


def make_roles() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for role in (OWNER, APP):
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS')


def runtime(owner_url: str, app_url: str, var_dir: str):
    from services.leads.bootstrap import build

    env = {"CRM_MODE": "embedded", "CRM_VAR_DIR": var_dir, "LEADS_DATABASE_URL": app_url,
           "LEADS_MIGRATE_DATABASE_URL": owner_url}
    rt = build(config.load("leads", env))
    rt.migrate()
    return rt


def fill(owner_url: str, rt, group: str, stores: list[str], total: int) -> None:
    """Stores, consultants and `total` leads of one group, from the data generator (crm.datagen.bulk)."""
    with rt.db.session(Scope.system(group)) as s:
        for st in stores:
            s.add(StoreRef(id=st, brand_id=BRAND, code=st, name=st, timezone="Asia/Shanghai"))
            for c in CONSULTANTS[st]:
                s.add(StaffRef(id=c, store_id=st, username=c, name=c, role="sales_consultant"))
    engine = create_engine(owner_url)
    with engine.begin() as c:
        rls.apply(c, Scope.system(None))
        with c.connection.driver_connection.cursor() as cur:
            copy_rows(cur, "leads", LEAD_COLUMNS, lead_rows(
                group, BRAND, {st: CONSULTANTS[st] for st in stores}, total, phone_prefix=PHONE_PREFIX[group]))
    with engine.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE leads")
    engine.dispose()


def without_rls(owner_url: str, rt) -> None:
    """Row-level security disabled on every protected table, and no settings sent by the sessions."""
    engine = create_engine(owner_url)
    with engine.begin() as c:
        for table, _ in rls.protected_tables(Base.metadata):
            c.exec_driver_sql(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    engine.dispose()
    event.remove(rt.db.factory, "after_begin", rls.set_scope)


def manager(store: str) -> Scope:
    return Scope(GROUP, frozenset({store}), f"{store}-mgr", "store_manager")


def workloads(rt, ids: list[str]) -> dict:
    rnd = random.Random(5)

    def tx(i):
        with rt.db.session(manager(STORES[i % 12])) as s:
            s.execute(text("SELECT 1"))

    def get(i):
        with rt.db.session(manager(STORES[i % 12])) as s:
            s.get(Lead, ids[i % len(ids)])

    def list_manager(i):
        store = STORES[i % 12]
        with rt.db.session(manager(store)) as s:
            queries.page_of(s, queries.lead_query({"store_id": store, "level": "CBAH"[i % 4], "overdue": True}), 1, 50)

    def list_consultant(i):
        store = STORES[i % 12]
        with rt.db.session(Scope(GROUP, frozenset({store}), CONSULTANTS[store][i % 5], "sales_consultant")) as s:
            queries.page_of(s, queries.lead_query({"store_id": store, "level": "CBAH"[i % 4], "overdue": True}), 1, 50)

    def board(i):
        with rt.db.session(manager(STORES[i % 12])) as s:
            queries.board(s, s.get(StoreRef, STORES[i % 12]))

    def create(i):
        store = STORES[i % 12]
        with rt.db.session(Scope(GROUP, frozenset({store}), CONSULTANTS[store][i % 5], "sales_consultant")) as s:
            s.add(Lead(store_id=store, brand_id=BRAND, consultant_id=CONSULTANTS[store][i % 5], name="新客户",
                       phone="+86" + datagen.phone(rnd), source="walk_in"))

    return {"tx": tx, "get": get, "list manager": list_manager, "list consultant": list_consultant,
            "board": board, "create": create}


def timed_pair(on, off, n: int) -> tuple[list[float], list[float]]:
    """`n` iterations of the workload on both databases, the order alternating."""
    for i in range(5):
        on(i), off(i)  # warm the pools and the plans
    times: dict = {on: [], off: []}
    for i in range(n):
        for fn in (on, off) if i % 2 == 0 else (off, on):
            t0 = time.perf_counter()
            fn(i)
            times[fn].append((time.perf_counter() - t0) * 1000)
    return times[on], times[off]


def p(times: list[float], q: float) -> float:
    s = sorted(times)
    return s[min(len(s) - 1, int(q * len(s)))]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group-leads", type=int, default=300_000)
    ap.add_argument("--other-leads", type=int, default=100_000)
    ap.add_argument("--n", type=int, default=500, help="iterations per workload (board: a fifth)")
    args = ap.parse_args(argv)
    make_roles()
    names = [f"{os.environ.get('BENCH_DB_PREFIX', 'crm_bench_')}rls_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    urls = []
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{OWNER}"')
            base = make_url(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://")).set(database=name)
            urls.append((base.set(username=OWNER).render_as_string(hide_password=False),
                         base.set(username=APP).render_as_string(hide_password=False)))
    results: dict[str, tuple[list[float], list[float]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rts = []
            for k, (owner_url, app_url) in enumerate(urls):
                rt = runtime(owner_url, app_url, f"{tmp}/{k}")
                t0 = time.perf_counter()
                fill(owner_url, rt, GROUP, STORES, args.group_leads)
                fill(owner_url, rt, OTHER, OTHER_STORES, args.other_leads)
                print(f"filled {args.group_leads:,} + {args.other_leads:,} leads in {time.perf_counter() - t0:.0f}s",
                      flush=True)
                rts.append(rt)
            without_rls(urls[1][0], rts[1])
            ids = []
            for rt in rts:
                with rt.db.session(Scope.system(GROUP)) as s:
                    ids.append(list(s.scalars(select(Lead.id).order_by(Lead.id).limit(5000))))
            on, off = workloads(rts[0], ids[0]), workloads(rts[1], ids[1])
            for label in on:
                results[label] = timed_pair(on[label], off[label], args.n // 5 if label == "board" else args.n)
                print(f"{label} done", flush=True)
            for rt in rts:
                rt.db.engine.dispose()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"\n{'workload':<16} {'RLS on p50':>11} {'off p50':>9} {'Δ p50':>8} {'on p95':>9} {'off p95':>9} "
          f"{'on mean':>9} {'off mean':>9} {'Δ mean':>8}")
    for label, (on, off) in results.items():
        m_on, m_off = statistics.fmean(on), statistics.fmean(off)
        print(f"{label:<16} {p(on, .5):>9.2f}ms {p(off, .5):>7.2f}ms {p(on, .5) - p(off, .5):>+6.2f}ms "
              f"{p(on, .95):>7.2f}ms {p(off, .95):>7.2f}ms {m_on:>7.2f}ms {m_off:>7.2f}ms {m_on - m_off:>+6.2f}ms")


if __name__ == "__main__":
    main()
