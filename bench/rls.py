"""What forced row-level security costs on the leads service's hot paths (PostgreSQL).

    .venv/bin/python bench/rls.py                         # 1,000,000 leads in the group, 200,000 in another
    .venv/bin/python bench/rls.py --group-leads 200000 --rounds 2 --n 100

The leads service as in production: migrated as the owner of a throwaway database, run as a role that
owns nothing. The same workloads run alternately (ABAB…, so drift on a shared machine hits both) with
row-level security on (policies enforced, the scope's settings sent at the start of each transaction)
and off (the policies disabled on every table, no settings sent), through the scoped ORM session:

- tx:       a transaction with one `SELECT 1` (the settings' round trip alone);
- get:      a store manager reads one lead by id;
- list:     a store manager's lead list, level + overdue, count and first page of 50 (the API's query),
            and a consultant's (their own leads);
- board:    the store board (open leads by level, overdue per consultant, SLA, defeats, unassigned);
- create:   a consultant creates a lead (INSERT checked by the policy, outbox event, commit).

Prints p50/p95 per workload with and without, and the difference. Not a test: nothing fails.
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
from sqlalchemy import create_engine, make_url, select, text  # noqa: E402

from services.leads.handlers import queries  # noqa: E402
from services.leads.models import Base, Lead, StaffRef, StoreRef  # noqa: E402
from shared import config, rls  # noqa: E402
from shared.tenancy import Scope  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
OWNER, APP = "crm_bench_owner", "crm_bench_app"
GROUP, OTHER, BRAND = "bench-group", "bench-other", "bench-brand"
STORES = [f"bench-store-{i:02d}" for i in range(12)]
OTHER_STORES = [f"other-store-{i:02d}" for i in range(4)]
CONSULTANTS = {st: [f"{st}-c{j}" for j in range(5)] for st in STORES + OTHER_STORES}


def make_roles() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for role in (OWNER, APP):
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS')


def runtime(owner_url: str, app_url: str, var_dir: str):
    from services.leads.app import build

    env = {"CRM_MODE": "embedded", "CRM_VAR_DIR": var_dir, "LEADS_DATABASE_URL": app_url,
           "LEADS_MIGRATE_DATABASE_URL": owner_url}
    rt = build(config.load("leads", env))
    rt.migrate()
    return rt


def fill(owner_url: str, rt, group: str, stores: list[str], total: int) -> None:
    """Stores, consultants and `total` leads of one group, generated in SQL (as leads_import.py does)."""
    with rt.db.session(Scope.system(group)) as s:
        for st in stores:
            s.add(StoreRef(id=st, brand_id=BRAND, code=st, name=st, timezone="Asia/Shanghai"))
            for c in CONSULTANTS[st]:
                s.add(StaffRef(id=c, store_id=st, username=c, name=c, role="sales_consultant"))
    listed = ",".join(f"'{s}'" for s in stores)
    engine = create_engine(owner_url)
    with engine.begin() as c:
        rls.apply(c, Scope.system(None))
        c.execute(text(f"""
            INSERT INTO leads (id, group_id, store_id, brand_id, consultant_id, name, phone, source, level,
                               created_at, last_contact_at, due_on, overdue_at, defeat_pending)
            SELECT md5(i::text || random()::text), '{group}', (ARRAY[{listed}])[1 + i % {len(stores)}], '{BRAND}',
                   (ARRAY[{listed}])[1 + i % {len(stores)}] || '-c' || ((i / {len(stores)}) % 5),
                   '客户' || i, '+86137' || lpad(i::text, 8, '0'), 'online', lv,
                   now() - (i % 400) * interval '1 day', now() - (i % 40) * interval '1 day',
                   CASE WHEN lv IN ('delivered', 'defeated') THEN NULL
                        ELSE (now() + ((i % 61) - 30) * interval '1 day')::date END,
                   CASE WHEN lv IN ('delivered', 'defeated') THEN NULL
                        ELSE now() + ((i % 61) - 30) * interval '1 day' END, false
            FROM generate_series(1, {total}) AS i,
                 LATERAL (SELECT (ARRAY['N','C','B','A','H','O','delivered','defeated'])[1 + ((i / 12) * 7) % 8]
                          AS lv) l"""))
    with engine.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE leads")
    engine.dispose()


def switch(owner_url: str, on: bool) -> None:
    """Row-level security on (as migrated) or off: every protected table's policy disabled, no settings."""
    engine = create_engine(owner_url)
    with engine.begin() as c:
        for table, _ in rls.protected_tables(Base.metadata):
            c.exec_driver_sql(f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} ROW LEVEL SECURITY")
    engine.dispose()
    rls.apply = _APPLY if on else (lambda connection, scope: None)


_APPLY = rls.apply


def manager(store: str) -> Scope:
    return Scope(GROUP, frozenset({store}), f"{store}-mgr", "store_manager")


def consultant(store: str, rnd: random.Random) -> Scope:
    return Scope(GROUP, frozenset({store}), rnd.choice(CONSULTANTS[store]), "sales_consultant")


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
            queries.page_of(s, queries.lead_query({"store_id": store, "level": rnd.choice("CBAH"), "overdue": True}), 1, 50)

    def list_consultant(i):
        store = STORES[i % 12]
        with rt.db.session(consultant(store, rnd)) as s:
            queries.page_of(s, queries.lead_query({"store_id": store, "level": rnd.choice("CBAH"), "overdue": True}), 1, 50)

    def board(i):
        with rt.db.session(manager(STORES[i % 12])) as s:
            queries.board(s, s.get(StoreRef, STORES[i % 12]))

    def create(i):
        store = STORES[i % 12]
        scope = consultant(store, rnd)
        with rt.db.session(scope) as s:
            s.add(Lead(store_id=store, brand_id=BRAND, consultant_id=scope.user_id, name="新客户",
                       phone=f"+86139{rnd.randrange(10**8):08d}", source="walk_in"))

    return {"tx": tx, "get": get, "list manager": list_manager, "list consultant": list_consultant,
            "board": board, "create": create}


def timed(fn, n: int) -> list[float]:
    for i in range(5):
        fn(i)  # warm the pool and the plans
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p(times: list[float], q: float) -> float:
    s = sorted(times)
    return s[min(len(s) - 1, int(q * len(s)))]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group-leads", type=int, default=1_000_000)
    ap.add_argument("--other-leads", type=int, default=200_000)
    ap.add_argument("--n", type=int, default=300, help="iterations per workload and round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of (on, off)")
    args = ap.parse_args(argv)
    make_roles()
    name = f"crm_bench_rls_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{OWNER}"')
    base = make_url(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://")).set(database=name)
    owner_url = base.set(username=OWNER).render_as_string(hide_password=False)
    app_url = base.set(username=APP).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rt = runtime(owner_url, app_url, tmp)
            t0 = time.perf_counter()
            fill(owner_url, rt, GROUP, STORES, args.group_leads)
            fill(owner_url, rt, OTHER, OTHER_STORES, args.other_leads)
            print(f"filled {args.group_leads:,} + {args.other_leads:,} leads in {time.perf_counter() - t0:.0f}s", flush=True)
            with rt.db.session(Scope.system(GROUP)) as s:
                ids = list(s.scalars(select(Lead.id).limit(5000)))
            work = workloads(rt, ids)
            results: dict[str, dict[bool, list[float]]] = {k: {True: [], False: []} for k in work}
            for r in range(args.rounds):
                for on in (True, False) if r % 2 == 0 else (False, True):
                    switch(owner_url, on)
                    for label, fn in work.items():
                        results[label][on] += timed(fn, args.n)
                print(f"round {r + 1}/{args.rounds} done", flush=True)
            switch(owner_url, True)
            rt.db.engine.dispose()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"\n{'workload':<16} {'RLS on p50':>11} {'off p50':>9} {'Δ p50':>8} {'on p95':>9} {'off p95':>9} "
          f"{'on mean':>9} {'off mean':>9} {'Δ mean':>8}")
    for label, by in results.items():
        on, off = by[True], by[False]
        m_on, m_off = statistics.fmean(on), statistics.fmean(off)
        print(f"{label:<16} {p(on, .5):>9.2f}ms {p(off, .5):>7.2f}ms {p(on, .5) - p(off, .5):>+6.2f}ms "
              f"{p(on, .95):>7.2f}ms {p(off, .95):>7.2f}ms {m_on:>7.2f}ms {m_off:>7.2f}ms {m_on - m_off:>+6.2f}ms")


if __name__ == "__main__":
    main()
