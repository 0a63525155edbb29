"""Customers benchmark (issue 4): phone search, the full 360 view and lead matching at scale, on PostgreSQL.

    .venv/bin/python bench/customers.py                       # 1,000,000 customers, 3,000,000 vehicles/visits
    .venv/bin/python bench/customers.py --customers 100000 --vehicles 150000 --visits 150000 --leads 10000

A throwaway database is created on postgresql://postgres@127.0.0.1:5432 (override with --admin-url),
migrated with the service's Alembic history, bulk-loaded with COPY (psycopg) then vacuumed,
analysed and checkpointed, and dropped at the end
(--keep keeps it). Each figure is printed beside the same work done as raw SQL (psycopg, no ORM, no
scoping hook) on the same database in the same run, and beside the aim from the issue:

- phone search p95 < 20 ms: `view.search` + relationships as the API does, for a call-center agent
  and for a store manager (scoped: the EXISTS on relationships), the phone typed in another format;
- 360 view p95 < 50 ms: `view.customer_360` for an agent in its own unit of work, including the
  access-log write and commit;
- matching >= 2,000 leads/s: `leads.lead.created` events applied exactly as the consumer does
  (`Applier.apply_batch`, batches of 100 as the consumer delivers them: inbox, set-based match by
  phone or create, relationships, timeline, outbox) — half of the phones already known — in --workers
  forked processes, as consumer replicas run. The raw SQL does the same rows one statement at a time,
  also committing every 100 leads.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

import shared.events.callcenter  # noqa: E402,F401  (register every payload schema)
import shared.events.customers  # noqa: E402,F401
import shared.events.identity  # noqa: E402,F401
import shared.events.leads  # noqa: E402,F401
from crm import datagen  # noqa: E402
from services.customers.bootstrap import build  # noqa: E402
from services.customers.entrypoints.consumers import handlers  # noqa: E402
from services.customers.domain import add_months  # noqa: E402
from services.customers import views as view  # noqa: E402
from shared import config  # noqa: E402
from shared.auth import Principal  # noqa: E402
from shared.bus.consumer import Applier  # noqa: E402
from shared.events import Event  # noqa: E402

GROUP = str(uuid.UUID(int=1))
STORES = [(str(uuid.UUID(int=100 + i)), str(uuid.UUID(int=10 + i % 3)), f"store-{i}") for i in range(12)]
MODELS = datagen.all_models()  # the brands' catalogue models


def phone_of(i: int, prefix: str = "139") -> str:
    """Customer `i`'s number (E.164); leads of new customers come from another prefix."""
    return "+86" + datagen.numbered_phone(i, prefix)


def vin_of(i: int) -> str:
    return datagen.vin(random.Random(i), "toyota")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def report(label: str, orm: list[float], raw: list[float], aim: str) -> None:
    print(f"  {label:<38} median {statistics.median(orm) * 1000:7.2f} ms  p95 {pct(orm, .95) * 1000:7.2f} ms"
          f"   | raw SQL median {statistics.median(raw) * 1000:6.2f} ms  p95 {pct(raw, .95) * 1000:6.2f} ms"
          f"   | aim {aim}", flush=True)


# --- data --------------------------------------------------------------------------------------------

def load(dsn: str, n_customers: int, n_vehicles: int, n_visits: int) -> None:
    """COPY the generated group: customers with a phone identifier, a relationship, vehicles, visits, timeline."""
    names = datagen.People(7, pool=5000).names
    now = datetime.now(UTC)
    consent = json.dumps({"phone": True, "sms": True, "wechat": True, "email": True})
    t0 = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy("COPY store_refs (id, group_id, brand_id, code, name) FROM STDIN") as cp:
            for sid, bid, code in STORES:
                cp.write_row((sid, GROUP, bid, code, code))
        # the group as identity.group.created would have made it known (the consumer's tenant rule)
        cur.execute("INSERT INTO known_groups (group_id, known_at) VALUES (%s, %s)", (GROUP, now))
        cust_ids = [str(uuid.UUID(int=(1 << 64) + i)) for i in range(n_customers)]
        with cur.copy("COPY customers (id, group_id, kind, name, name_key, phone, phone_last4, tags, known_at, "
                      "do_not_call, consent, spend_total, value_tier, open_complaints, status, created_at, "
                      "updated_at) FROM STDIN") as cp:
            for i, cid in enumerate(cust_ids):
                name, ph = names[i % len(names)], phone_of(i)
                cp.write_row((cid, GROUP, "individual", name, name, ph, ph[-4:], "[]",
                              json.dumps([STORES[i % 12][0]]), False, consent, 0, "D", 0, "active",
                              now - timedelta(minutes=i), now))
        with cur.copy("COPY identifiers (id, group_id, customer_id, kind, value, label, created_at) FROM STDIN") as cp:
            for i, cid in enumerate(cust_ids):
                cp.write_row((str(uuid.uuid4()), GROUP, cid, "phone", phone_of(i), "mobile", now))
        print(f"  customers + identifiers: {time.perf_counter() - t0:.0f}s", flush=True)
        with cur.copy("COPY store_relationships (id, group_id, store_id, customer_id, brand_id, customer_class, "
                      "level, owner_kind, defeated, churned, last_visit_on, first_seen_at, last_seen_at) "
                      "FROM STDIN") as cp:
            for i, cid in enumerate(cust_ids):
                sid, bid, _ = STORES[i % 12]
                owner = i < n_vehicles
                cp.write_row((str(uuid.uuid4()), GROUP, sid, cid, bid, "self_sold" if owner else "intent",
                              None if owner else "B", "self_sold" if owner else None, False, False,
                              date(2025, 1, 1) + timedelta(days=i % 600) if owner else None, now, now))
        with cur.copy("COPY vehicles (id, group_id, customer_id, vin, plate, brand_id, model, purchase_date, "
                      "selling_store_id, price, mileage, last_service_on, next_maintenance_on, created_at) "
                      "FROM STDIN") as cp:
            for i in range(n_vehicles):
                ci = i % n_customers
                sid, bid, _ = STORES[ci % 12]
                bought = date(2023, 1, 1) + timedelta(days=i % 900)
                cp.write_row((str(uuid.UUID(int=(2 << 64) + i)), GROUP, cust_ids[ci], vin_of(i), f"沪A{i % 100000:05d}",
                              bid, MODELS[i % len(MODELS)], bought, sid, 180000, 8000 + i % 40000, None,
                              add_months(bought, 3), now))
        print(f"  + relationships, vehicles: {time.perf_counter() - t0:.0f}s", flush=True)
        with cur.copy("COPY service_visits (id, group_id, store_id, customer_id, repair_order, vin, visit_date, "
                      "mileage, kind, amount, created_at) FROM STDIN") as cp:
            for i in range(n_visits):
                vi = i % max(n_vehicles, 1)
                ci = vi % n_customers
                cp.write_row((str(uuid.UUID(int=(3 << 64) + i)), GROUP, STORES[ci % 12][0], cust_ids[ci], f"RO{i:09d}",
                              vin_of(vi) if n_vehicles else None, date(2024, 1, 1) + timedelta(days=i % 700),
                              5000 + i % 50000, "maintenance", 600 + i % 900, now))
        with cur.copy("COPY activities (id, group_id, customer_id, store_id, kind, occurred_at, ref_id, detail, actor) "
                      "FROM STDIN") as cp:
            for i in range(n_visits):
                vi = i % max(n_vehicles, 1)
                ci = vi % n_customers
                cp.write_row((str(uuid.uuid4()), GROUP, cust_ids[ci], STORES[ci % 12][0], "service",
                              now - timedelta(days=i % 700), None,
                              json.dumps({"kind": "maintenance", "mileage": 5000 + i % 50000, "amount": "800"}), None))
        conn.commit()
        print(f"  + visits and timeline: {time.perf_counter() - t0:.0f}s; vacuum and analyse", flush=True)
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE)")  # as after any bulk load (autovacuum is off on the CI machines)
        conn.execute("CHECKPOINT")  # the load's deferred writes are not charged to what is measured next
    print(f"loaded in {time.perf_counter() - t0:.0f}s", flush=True)


# --- measurements ------------------------------------------------------------------------------------

AGENT = Principal(user_id=str(uuid.uuid4()), username="bench.agent", group_id=GROUP, group_code="bench",
                  role="cc_agent", store_ids=None)


def manager(store_id: str) -> Principal:
    return Principal(user_id=str(uuid.uuid4()), username="bench.manager", group_id=GROUP, group_code="bench",
                     role="store_manager", store_ids=frozenset({store_id}))


RAW_SEARCH = ("SELECT c.* FROM customers c WHERE c.group_id = %s AND c.status = 'active' AND c.id IN "
              "(SELECT customer_id FROM identifiers WHERE group_id = %s AND kind = 'phone' AND value = %s) "
              "ORDER BY c.created_at DESC, c.id LIMIT 21")
RAW_SEARCH_SCOPED = RAW_SEARCH.replace("ORDER BY", "AND EXISTS (SELECT 1 FROM store_relationships r WHERE "
                                       "r.customer_id = c.id AND r.store_id = %s) ORDER BY")
RAW_RELS = "SELECT * FROM store_relationships WHERE customer_id = ANY(%s)"
RAW_360 = [
    "SELECT * FROM customers WHERE id = %(c)s AND group_id = %(g)s",
    "SELECT * FROM store_refs WHERE group_id = %(g)s",
    "SELECT * FROM store_relationships WHERE customer_id = %(c)s AND group_id = %(g)s ORDER BY first_seen_at",
    "SELECT * FROM vehicles WHERE customer_id = %(c)s AND group_id = %(g)s ORDER BY purchase_date",
    "SELECT * FROM service_visits WHERE customer_id = %(c)s AND group_id = %(g)s ORDER BY visit_date DESC LIMIT 50",
    "SELECT * FROM insurance_policies WHERE customer_id = %(c)s AND group_id = %(g)s ORDER BY ends_on DESC LIMIT 20",
    "SELECT * FROM customer_leads WHERE customer_id = %(c)s AND group_id = %(g)s ORDER BY created_at DESC LIMIT 20",
    "SELECT * FROM activities WHERE customer_id = %(c)s AND group_id = %(g)s ORDER BY occurred_at DESC LIMIT 100",
    "SELECT * FROM group_settings WHERE group_id = %(g)s",
    "SELECT count(id) FROM identifiers WHERE customer_id = %(c)s AND kind = 'phone' AND group_id = %(g)s",
    "INSERT INTO access_log (id, group_id, customer_id, user_id, username, role, action, at) "
    "VALUES (gen_random_uuid()::text, %(g)s, %(c)s, 'u', 'bench', 'cc_agent', 'view_360', now())",
]


def measure_search(rt, dsn: str, n_customers: int, queries: int) -> None:
    picks = [random.randrange(n_customers) for _ in range(queries)]
    for label, principal in (("phone search (agent, whole group)", AGENT),
                             ("phone search (store manager, scoped)", None)):
        orm, raw = [], []
        with psycopg.connect(dsn, autocommit=True) as conn:
            for i in picks:
                ph = phone_of(i)
                typed = f"{ph[3:6]} {ph[6:10]} {ph[10:]}"  # '139 0001 2345': another format
                p = principal or manager(STORES[i % 12][0])
                t = time.perf_counter()
                with rt.db.session(p.scope) as s:
                    rows, _ = view.search(s, GROUP, {"phone": typed, "page": 1, "per_page": 20})
                    rels = view.relationships_of(s, [c.id for c in rows])
                    stores = view.store_names(s)
                    out = [view.present_row(p, c, rels[c.id], stores) for c in rows]
                orm.append(time.perf_counter() - t)
                assert len(out) == 1, (ph, out)
                t = time.perf_counter()
                sql, args = (RAW_SEARCH, (GROUP, GROUP, ph)) if principal else \
                    (RAW_SEARCH_SCOPED, (GROUP, GROUP, ph, p.home_store))
                found = conn.execute(sql, args).fetchall()
                conn.execute(RAW_RELS, ([r[0] for r in found],)).fetchall()
                conn.execute("SELECT * FROM store_refs WHERE group_id = %s", (GROUP,)).fetchall()
                raw.append(time.perf_counter() - t)
        report(label, orm, raw, "p95 < 20 ms")


def measure_360(rt, dsn: str, n_customers: int, queries: int) -> None:
    picks = [str(uuid.UUID(int=(1 << 64) + random.randrange(n_customers))) for _ in range(queries)]
    orm, raw = [], []
    with psycopg.connect(dsn) as conn:
        for cid in picks:
            t = time.perf_counter()
            with rt.db.session(AGENT.scope) as s:
                data = view.customer_360(s, AGENT, cid)
            orm.append(time.perf_counter() - t)
            assert data is not None
            t = time.perf_counter()
            for sql in RAW_360:
                conn.execute(sql, {"c": cid, "g": GROUP})
            conn.commit()
            raw.append(time.perf_counter() - t)
    report("360 view (agent, logged)", orm, raw, "p95 < 50 ms")


def in_workers(target, chunks: list) -> float:
    """Run `target(chunk)` in one forked process per chunk, as consumer replicas run; seconds until all end."""
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=target, args=(chunk,)) for chunk in chunks]
    t = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t
    if any(p.exitcode != 0 for p in procs):
        raise SystemExit(f"a worker failed: exit codes {[p.exitcode for p in procs]}")
    return elapsed


def measure_matching(rt, dsn: str, n_customers: int, n_leads: int, workers: int) -> None:
    known = [phone_of(random.randrange(n_customers)) for _ in range(n_leads // 2)]
    fresh = [phone_of(i, "137") for i in range(n_leads - len(known))]
    phones = known + fresh
    random.shuffle(phones)
    people = datagen.People(3, pool=2000)
    names = [people.name() for _ in range(len(phones))]
    events = [Event(type="leads.lead.created", group_id=GROUP, store_id=STORES[i % 12][0],
                    brand_id=STORES[i % 12][1],
                    data={"lead_id": str(uuid.uuid4()), "name": names[i], "phone": ph, "source": "walk_in",
                          "level": "B"}) for i, ph in enumerate(phones)]
    applier = Applier(rt.db, rt.inbox, handlers)

    def work(chunk):
        rt.db.engine.dispose(close=False)  # a forked worker opens its own connections
        # as the consumer does: what one delivery brings (up to the prefetch of 100) in one transaction
        t = time.perf_counter()
        for i in range(0, len(chunk), 100):
            applier.apply_batch(chunk[i:i + 100])
            if (i + 100) % 10000 == 0:  # progress: the rate of each worker's last 10,000 leads
                print(f"    worker {multiprocessing.current_process().name}: {i + 100:,} leads, "
                      f"{10000 / (time.perf_counter() - t):.0f} leads/s", flush=True)
                t = time.perf_counter()

    orm = in_workers(work, [events[i::workers] for i in range(workers)])

    # the same work in raw SQL, a transaction per 100 leads too: inbox row, phone lookup, customer and
    # identifier or relationship upsert, timeline line, outbox row
    raw_phones = [p.replace("+86137", "+86136") if p.startswith("+86137") else p for p in phones]

    def raw_work(items):
        with psycopg.connect(dsn) as conn:
            for n, (i, ph) in enumerate(items, 1):
                sid, bid, _ = STORES[i % 12]
                conn.execute("INSERT INTO inbox (consumer, event_id, event_type, handled_at) VALUES "
                             "('raw', %s, 'leads.lead.created', now())", (str(uuid.uuid4()),))
                row = conn.execute("SELECT customer_id FROM identifiers WHERE group_id = %s AND kind = 'phone' "
                                   "AND value = %s LIMIT 1", (GROUP, ph)).fetchone()
                if row is None:
                    cid = str(uuid.uuid4())
                    conn.execute("INSERT INTO customers (id, group_id, kind, name, name_key, phone, phone_last4, tags,"
                                 " known_at, do_not_call, consent, spend_total, value_tier, open_complaints, status,"
                                 " created_at, updated_at) VALUES (%s, %s, 'individual', '来店客户', '来店客户',"
                                 " %s, %s,"
                                 " '[]', '[]', false, '{}', 0, 'D', 0, 'active', now(), now())",
                                 (cid, GROUP, ph, ph[-4:]))
                    conn.execute("INSERT INTO identifiers (id, group_id, customer_id, kind, value, created_at) "
                                 "VALUES (gen_random_uuid()::text, %s, %s, 'phone', %s, now())", (GROUP, cid, ph))
                else:
                    cid = row[0]
                conn.execute("INSERT INTO store_relationships (id, group_id, store_id, customer_id, brand_id, "
                             "customer_class, level, defeated, churned, first_seen_at, last_seen_at) VALUES "
                             "(gen_random_uuid()::text, %s, %s, %s, %s, 'intent', 'B', false, false, now(), now()) "
                             "ON CONFLICT (customer_id, store_id) DO UPDATE SET level = 'B', last_seen_at = now()",
                             (GROUP, sid, cid, bid))
                conn.execute("INSERT INTO activities (id, group_id, customer_id, store_id, kind, occurred_at, detail)"
                             " VALUES (gen_random_uuid()::text, %s, %s, %s, 'lead', now(), '{}')", (GROUP, cid, sid))
                conn.execute("INSERT INTO outbox (event_id, routing_key, body, created_at) VALUES "
                             "(gen_random_uuid()::text, 'customers.relationship.changed', '{}', now())")
                if n % 100 == 0:
                    conn.commit()
            conn.commit()

    items = list(enumerate(raw_phones))
    raw = in_workers(raw_work, [items[i::workers] for i in range(workers)])
    print(f"  {'matching ' + str(n_leads) + ' leads (' + str(workers) + ' workers)':<38} "
          f"{n_leads / orm:8.0f} leads/s ({orm:.1f}s)   | raw SQL {n_leads / raw:8.0f} leads/s ({raw:.1f}s)"
          f"   | aim >= 2,000 leads/s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--vehicles", type=int, default=1_500_000)
    ap.add_argument("--visits", type=int, default=1_500_000)
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2, help="consumer processes applying leads side by side")
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args()
    random.seed(42)
    name = f"crm_bench_customers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = args.admin_url.rsplit("/", 1)[0] + f"/{name}"
    print(f"database {name}: {args.customers:,} customers, {args.vehicles:,} vehicles, {args.visits:,} visits",
          flush=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"CRM_MODE": "embedded", "CRM_VAR_DIR": tmp,
                   "CUSTOMERS_DATABASE_URL": dsn.replace("postgresql://", "postgresql+psycopg://")}
            rt = build(config.load("customers", env))
            rt.migrate()
            load(dsn, args.customers, args.vehicles, args.visits)
            print("results (same database, same run):", flush=True)
            measure_search(rt, dsn, args.customers, args.queries)
            measure_360(rt, dsn, args.customers, args.queries)
            measure_matching(rt, dsn, args.customers, args.leads, args.workers)
            rt.db.engine.dispose()
    finally:
        if not args.keep:
            with psycopg.connect(args.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
