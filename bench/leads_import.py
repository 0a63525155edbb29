"""Leads benchmark (issue 3): CSV import rate and memory, and the store lead-list latency at scale.

    .venv/bin/python bench/leads_import.py                      # 100,000 rows; 1,000,000 leads for the list
    .venv/bin/python bench/leads_import.py --rows 20000 --group-leads 200000 --only sqlite

For each database (PostgreSQL in a throwaway database created and dropped here, and SQLite in a temp
dir), in the same run:

a) import: a generated CSV (Faker zh_CN names, ~1% bad rows, ~1% duplicate phones) through the real
   importer (`importer.submit`, then the worker's `ImportQueue`): stored upload, streamed reading, validation, phone
   normalisation, dedup by phone within the store, batched INSERTs and `leads.lead.created` events via
   `emit_many` into the outbox. Prints rows/s and the growth of the process's peak RSS during the
   import (with `--tracemalloc`, the Python heap peak too — slower, so off by default);
b) baseline: a plain SQLAlchemy Core bulk INSERT of the same rows (no validation, no dedup, no
   events) into the same table, in batches of the same size;
c) list: the group filled with `--group-leads` leads over 12 stores (from the data generator,
   `crm.datagen.bulk`: COPY on PostgreSQL, batched INSERTs on SQLite), then the
   p50/p95 latency of a store manager's lead list filtered by level and overdue (count + first page
   of 50, through the scoped ORM session and the same query the API runs), and a consultant's.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# run as a script, bench/ is sys.path[0]: keep its modules from shadowing the stdlib
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from crm import datagen  # noqa: E402
from crm.datagen.bulk import LEAD_COLUMNS, lead_rows, write_rows  # noqa: E402
from services.leads import views as queries  # noqa: E402
from services.leads.domain import SOURCES as SOURCE_LABELS  # noqa: E402
from services.leads.handlers import importer  # noqa: E402
from services.leads.entrypoints.worker import ImportQueue  # noqa: E402
from services.leads.adapters.models import OUTBOX, Base, ImportJob, Lead, StaffRef, StoreRef  # noqa: E402
from shared.auth import Principal  # noqa: E402
from shared.bus.outbox import install_outbox  # noqa: E402
from shared.db import Database, new_id, utcnow  # noqa: E402
from shared.tenancy import Scope  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
GROUP = "bench-group"
BRAND = "bench-brand"
STORES = [f"bench-store-{i:02d}" for i in range(12)]
CONSULTANTS = {st: [f"{st}-c{j}" for j in range(5)] for st in STORES}
#: the sources a portal export names: the leads service's keys and, as often, their Chinese labels
SOURCES = [key for key, _ in datagen.SOURCES] + list(SOURCE_LABELS.values())
MODELS = [name for name, _ in datagen.MODELS["toyota"]]  # the store sells Toyota: its catalogue's models
AIMS = {"import": 5000, "p95_ms": 100}


def generate_csv(path: Path, rows: int, seed: int = 7) -> None:
    """A portal export: header + rows, ~1% bad (phone or source) and ~1% repeated phones."""
    people = datagen.People(seed, pool=5000)  # Faker is slow; a pool of names keeps generation cheap
    rnd = people.rng
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["姓名", "手机", "来源", "意向车型", "备注"])
        for i in range(rows):
            r = rnd.random()
            prefix = rnd.choice(("135", "136", "137", "138", "139"))
            phone = datagen.numbered_phone(i, prefix)
            if r < 0.005:
                phone = "12345"
            elif r < 0.015:
                phone = datagen.numbered_phone(max(i - 7, 0), prefix)  # a repeat of an earlier row (mostly)
            source = "抖音" if 0.015 <= r < 0.02 else rnd.choice(SOURCES)
            w.writerow([people.name(), phone, source, rnd.choice(MODELS), ""])


def setup_db(url: str) -> Database:
    db = Database(url, [m.class_ for m in Base.registry.mappers])
    install_outbox(db.factory, OUTBOX)
    Base.metadata.create_all(db.engine)
    with db.session(Scope.system(GROUP)) as s:
        for st in STORES:
            s.add(StoreRef(id=st, group_id=GROUP, brand_id=BRAND, code=st, name=st, timezone="Asia/Shanghai"))
            for c in CONSULTANTS[st]:
                s.add(StaffRef(id=c, group_id=GROUP, store_id=st, username=c, name=c, role="sales_consultant"))
    return db


def manager(store: str) -> Principal:
    return Principal(user_id=f"{store}-mgr", username="mgr", group_id=GROUP, group_code="bench",
                     role="store_manager", store_ids=frozenset({store}))


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_import(db: Database, csv_path: Path, store: str, trace: bool) -> dict:
    p = manager(store)
    rss0 = maxrss_mb()
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()  # the upload (stored in the database) and the worker's run of it
    with db.session(p.scope) as s, csv_path.open("rb") as fh:
        job_id = importer.submit(s, p, store, csv_path.name, False, fh).id
    ImportQueue(db).drain()
    with db.session(p.scope) as s:
        job = s.get_one(ImportJob, job_id)
    secs = time.perf_counter() - t0
    heap = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    if trace:
        tracemalloc.stop()
    with db.engine.connect() as c:
        events = c.scalar(select(func.count()).select_from(OUTBOX))
    return {"status": job.status, "rows": job.rows, "imported": job.imported, "duplicates": job.duplicates,
            "bad": job.bad_rows, "secs": secs, "rate": job.rows / secs, "rss_growth_mb": maxrss_mb() - rss0,
            "heap_peak_mb": heap, "events": events}


def run_plain(db: Database, csv_path: Path, store: str) -> dict:
    """The same rows, no checks and no events: one Core INSERT per 1,000 rows."""
    now = utcnow()
    t0 = time.perf_counter()
    n = 0
    with csv_path.open(encoding="utf-8", newline="") as fh, db.engine.begin() as conn:
        rows = csv.reader(fh)
        next(rows)
        batch = []
        for name, phone, source, model, _note in rows:
            batch.append({"id": new_id(), "group_id": GROUP, "store_id": store, "brand_id": BRAND, "name": name,
                          "phone": phone, "source": source, "model": model, "level": "N", "created_at": now,
                          "defeat_pending": False})
            if len(batch) == importer.BATCH:
                conn.execute(insert(Lead.__table__), batch)
                n += len(batch)
                batch = []
        if batch:
            conn.execute(insert(Lead.__table__), batch)
            n += len(batch)
    secs = time.perf_counter() - t0
    return {"rows": n, "secs": secs, "rate": n / secs}


def fill_group(db: Database, total: int) -> float:
    """`total` leads over the 12 stores from the data generator (crm.datagen.bulk: every level in every
    store, consultants, due dates half of them overdue), written with COPY on PostgreSQL."""
    t0 = time.perf_counter()
    with db.engine.begin() as c:
        write_rows(c, Lead.__table__, LEAD_COLUMNS, lead_rows(GROUP, BRAND, CONSULTANTS, total))
    with db.engine.connect() as c:
        if db.is_sqlite:
            c.exec_driver_sql("ANALYZE")
        else:
            c.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE leads")
    return time.perf_counter() - t0


def list_latency(db: Database, n: int) -> dict:
    """A store manager's (and a consultant's) list: level + overdue, count and the first page of 50."""
    rnd = random.Random(3)
    out = {}
    for who in ("manager", "consultant"):
        times = []
        for i in range(n):
            store = STORES[i % len(STORES)]
            scope = manager(store).scope if who == "manager" else Scope(
                GROUP, frozenset({store}), rnd.choice(CONSULTANTS[store]), "sales_consultant")
            q = {"store_id": store, "level": rnd.choice("CBAH"), "overdue": True}
            t0 = time.perf_counter()
            with db.session(scope) as s:
                rows, total = queries.page_of(s, queries.lead_query(q), 1, 50)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        out[who] = {"p50": statistics.median(times), "p95": times[int(0.95 * len(times)) - 1],
                    "rows": len(rows), "total": total}
    return out


def bench(label: str, url: str, args, csv_path: Path) -> None:
    print(f"\n== {label} ==", flush=True)
    db = setup_db(url)
    imp = run_import(db, csv_path, STORES[0], args.tracemalloc)
    heap = f", Python heap peak {imp['heap_peak_mb']:.1f} MB" if imp["heap_peak_mb"] is not None else ""
    print(f"import   {imp['rows']:,} rows in {imp['secs']:.1f}s = {imp['rate']:,.0f} rows/s "
          f"(aim >= {AIMS['import']:,} on PostgreSQL) | imported {imp['imported']:,}, duplicates "
          f"{imp['duplicates']:,}, bad {imp['bad']:,}, events {imp['events']:,} | peak RSS growth "
          f"{imp['rss_growth_mb']:.1f} MB{heap}", flush=True)
    plain = run_plain(db, csv_path, STORES[1])
    print(f"plain    Core bulk INSERT of the same rows: {plain['rate']:,.0f} rows/s "
          f"(import runs at {imp['rate'] / plain['rate']:.0%} of it)", flush=True)
    if args.group_leads:
        secs = fill_group(db, args.group_leads)
        with db.engine.connect() as c:
            total = c.scalar(text("SELECT count(*) FROM leads WHERE group_id = :g"), {"g": GROUP})
        print(f"fill     {total:,} leads in the group ({secs:.0f}s, from crm.datagen)", flush=True)
        lat = list_latency(db, args.queries)
        for who, r in lat.items():
            print(f"list     {who:<10} level+overdue, count+page of 50: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms "
                  f"(aim p95 < {AIMS['p95_ms']} ms) | {r['total']:,} matching in the last query", flush=True)
    db.engine.dispose()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows in the generated CSV")
    ap.add_argument("--group-leads", type=int, default=1_000_000, help="leads in the group for the list (0: skip)")
    ap.add_argument("--queries", type=int, default=200, help="list queries per role")
    ap.add_argument("--only", choices=("postgres", "sqlite"), help="run one database only")
    ap.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap peak (slower)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="leads-bench-") as tmp:
        csv_path = Path(tmp) / "portal.csv"
        t0 = time.perf_counter()
        generate_csv(csv_path, args.rows)
        print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 2**20:.1f} MB) in "
              f"{time.perf_counter() - t0:.1f}s", flush=True)
        if args.only != "sqlite":
            import psycopg

            name = f"{os.environ.get('BENCH_DB_PREFIX', 'crm_bench_')}leads_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            try:
                base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
                bench("PostgreSQL", f"{base}/{name}", args, csv_path)
            finally:
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if args.only != "postgres":
            bench("SQLite", f"sqlite:///{tmp}/leads.sqlite", args, csv_path)


if __name__ == "__main__":
    main()
