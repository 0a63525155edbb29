"""Analytics benchmark: ingest generated events into PostgreSQL, then time the HQ dashboard queries
against the same figures computed by plain SQL over the raw event table, in the same run.

    .venv/bin/python bench/analytics.py --events 10000000

Ingestion goes through the same `ingest()` as the consumer (event log, facts, deltas, rollup upserts),
in batches of --batch events per unit of work instead of one event per unit of work; the numbers it
produces are the same (tests/analytics/test_rollups.py::test_the_bulk_path_gives_the_same_rollups_as_the_consumer,
and on PostgreSQL tests/analytics/test_running_totals.py::test_the_postgresql_bulk_path_gives_the_same_rollups).
What differs from production: no broker and no inbox table in the loop; after ingestion one VACUUM (ANALYZE)
stands in for autovacuum (timed apart). Each query, rollup or raw, is run once or twice before it is timed.
Aims (issue 6): dashboard p95 < 100 ms at 10M events, >= 50x faster than the raw aggregate, >= 5,000 events/s.
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
from datetime import UTC, date, datetime
from pathlib import Path

# run as a script, bench/ is sys.path[0]: drop it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import text  # noqa: E402

from crm.datagen import events as G  # noqa: E402
from services.analytics.handlers import ingest  # noqa: E402
from services.analytics.views import queries as Q  # noqa: E402
from services.analytics.domain import kpis as K  # noqa: E402
from services.analytics.domain.facts import Envelope  # noqa: E402
from shared import config  # noqa: E402
from shared.tenancy import Scope  # noqa: E402

ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PER_STORE_DAY_FIXED = 9.0  # reports, visits, service visits and their callbacks per store and day
PER_LEAD = 7.5  # events of one lead's life on average


def envelopes(messages):
    for m in messages:
        yield Envelope(m["id"], m["type"], datetime.fromisoformat(m["occurred_at"]), m["group_id"], m["store_id"],
                       m["brand_id"], m["actor"], m["data"])


def timed(fn, runs: int) -> tuple[float, float, object]:
    out, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return statistics.median(out), out[max(0, int(len(out) * 0.95) - 1)], result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--batch", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=30, help="timed runs per dashboard query")
    ap.add_argument("--raw-runs", type=int, default=5, help="timed runs per raw SQL aggregate")
    ap.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    args = ap.parse_args()

    name = f"crm_bench_analytics_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    try:
        run(args, url)
    finally:
        if not args.keep:
            with psycopg.connect(ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept {url}")


def run(args, url: str) -> None:
    from services.analytics.bootstrap import build

    var = tempfile.mkdtemp()
    rt = build(config.load("analytics", {"CRM_MODE": "embedded", "CRM_VAR_DIR": var, "ANALYTICS_DATABASE_URL": url}))
    rt.migrate()
    db = rt.db
    org = G.make_org()
    stores = len(org.stores)
    per_lead_day = max(0.05, (args.events / (stores * args.days) - PER_STORE_DAY_FIXED) / PER_LEAD)
    start = date(2024, 11, 1)
    print(f"generating ~{args.events:,} events: {stores} stores, {args.days} days from {start}, "
          f"{per_lead_day:.1f} leads per store and day; batches of {args.batch:,}")
    msgs = G.identity_messages(org, datetime(2024, 1, 1, tzinfo=UTC))
    source = G.history(org, start, args.days, leads_per_store_day=per_lead_day, seed=42)
    n, t0, gen_time, batch = 0, time.perf_counter(), 0.0, []
    first = list(envelopes(msgs))
    with db.session(Scope.system()) as s:
        ingest.ingest(s, first)
    n += len(first)
    last_report = t0
    while n < args.events:
        g = time.perf_counter()
        batch = []
        for m in source:
            batch.append(m)
            if len(batch) >= min(args.batch, args.events - n):
                break
        if not batch:
            break
        envs = list(envelopes(batch))
        gen_time += time.perf_counter() - g
        with db.session(Scope.system()) as s:
            ingest.ingest(s, envs)
        n += len(batch)
        if time.perf_counter() - last_report > 30:
            last_report = time.perf_counter()
            el = last_report - t0 - gen_time
            print(f"  {n:,} events, {n / el:,.0f} events/s (ingest only)", flush=True)
    total = time.perf_counter() - t0
    ingest_time = total - gen_time
    print(f"ingested {n:,} events in {ingest_time:,.1f} s (+{gen_time:,.1f} s generating): "
          f"{n / ingest_time:,.0f} events/s   [aim >= 5,000: {'met' if n / ingest_time >= 5000 else 'NOT met'}]")
    # what autovacuum would have done meanwhile (a server may run with it off, as CI's does);
    # it treats the event log and the rollups alike
    t = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        autovacuum = c.execute(text("SHOW autovacuum")).scalar()
        c.execute(text("VACUUM (ANALYZE)"))
        sizes = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in
                 ("event_log", "fact", "rollup_fine", "rollup_cube", "rollup_running")}
    print(f"VACUUM (ANALYZE) in {time.perf_counter() - t:,.1f} s (server autovacuum: {autovacuum})")
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))

    end_month = K.month_key(date.fromordinal(start.toordinal() + args.days - 1))
    months = [K.shift_month(end_month, -i) for i in range(1, 12)]
    brands = list(org.brands)
    rnd = random.Random(1)
    gid = org.group_id
    scope = Scope(group_id=gid)  # HQ: the whole group

    def group_month():
        with db.session(scope) as s:
            return K.compute(Q.node_figures(s, rnd.choice(months), Q.Filters()))

    def brand_drill():
        with db.session(scope) as s:
            return Q.children(s, rnd.choice(months), Q.Filters(brand_id=rnd.choice(brands)), "store")

    def consultant_ranking():  # as the HQ dashboard's ranking table asks for it: rank, name, value
        with db.session(scope) as s:
            return Q.ranking(s, rnd.choice(months), Q.Filters(), "consultant", "orders", shown=())

    def consultant_ranking_every_kpi():  # as /analytics/api/v1/rankings returns it: every KPI per row
        with db.session(scope) as s:
            return Q.ranking(s, rnd.choice(months), Q.Filters(), "consultant", "orders")

    month = months[0]
    lo, hi = K.month_days(month)
    bounds = {"g": gid, "lo": datetime(lo.year, lo.month, lo.day, tzinfo=UTC).isoformat(),
              "hi": datetime(hi.year, hi.month, hi.day, 23, 59, 59, tzinfo=UTC).isoformat(), "m": month}
    raw_group = text("""
        SELECT count(*) FILTER (WHERE type = 'leads.lead.created'),
               count(*) FILTER (WHERE type = 'leads.order.placed'),
               coalesce(sum((data->>'price')::numeric) FILTER (WHERE type = 'leads.order.placed'), 0)
        FROM event_log WHERE group_id = :g
          AND (occurred_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN CAST(:lo AS timestamptz)::date
                                                                   AND CAST(:hi AS timestamptz)::date""")
    raw_brand = text("""
        SELECT store_id, count(*) FILTER (WHERE type = 'leads.lead.created'),
               count(*) FILTER (WHERE type = 'leads.order.placed')
        FROM event_log WHERE group_id = :g AND brand_id = :b
          AND to_char(occurred_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') = :m GROUP BY store_id""")
    raw_ranking = text("""
        SELECT data->>'consultant_id' AS c, count(*) AS n FROM event_log
        WHERE group_id = :g AND type = 'leads.order.placed'
          AND to_char(occurred_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') = :m
        GROUP BY c ORDER BY n DESC""")

    def raw(stmt, **extra):
        def go():
            with db.engine.connect() as c:
                return c.execute(stmt, {**bounds, **extra}).all()
        return go

    # the same figures both ways, for one month, as a check that the comparison is fair
    with db.session(scope) as s:
        fig = K.compute(Q.node_figures(s, month, Q.Filters()))
        by_store = {r["id"]: (r["kpis"]["leads"], r["kpis"]["orders"])
                    for r in Q.children(s, month, Q.Filters(brand_id=brands[0]), "store")}
        by_consultant = {r["id"]: r["value"] for r in Q.ranking(s, month, Q.Filters(), "consultant", "orders", shown=())}
        every_kpi = {r["id"]: r["kpis"]["orders"] for r in Q.ranking(s, month, Q.Filters(), "consultant", "orders")}
        assert {k: v for k, v in by_consultant.items() if v} == {k: v for k, v in every_kpi.items() if v}
    leads, orders, amount = raw(raw_group)()[0]
    assert (fig["leads"], fig["orders"]) == (leads, orders), ((fig["leads"], fig["orders"]), (leads, orders))
    assert abs(fig["order_amount"] - float(amount)) < 0.01
    raw_by_store = {sid: (ld, od) for sid, ld, od in raw(raw_brand, b=brands[0])()}
    assert {k: v for k, v in by_store.items() if any(v)} == raw_by_store, (by_store, raw_by_store)
    raw_by_consultant = {c or "": n for c, n in raw(raw_ranking)()}
    assert {k: v for k, v in by_consultant.items() if v} == raw_by_consultant, (by_consultant, raw_by_consultant)
    print(f"check {month}: rollups and raw SQL agree (leads {leads:,}, orders {orders:,}, amount ¥{amount:,.0f}; "
          f"leads and orders of {len(raw_by_store)} stores of a brand; orders of {len(raw_by_consultant)} consultants)")

    print(f"{'query':<22}{'rollups median':>16}{'p95':>10}{'raw SQL median':>18}{'p95':>10}{'speed-up':>10}")
    for label_, fn, raw_fn in (("group month", group_month, raw(raw_group)),
                               ("brand drill-down", brand_drill, raw(raw_brand, b=brands[0])),
                               ("consultant ranking", consultant_ranking, raw(raw_ranking)),
                               ("ranking, every KPI", consultant_ranking_every_kpi, raw(raw_ranking))):
        timed(fn, 2)
        med, p95, _ = timed(fn, args.runs)
        timed(raw_fn, 1)
        rmed, rp95, _ = timed(raw_fn, args.raw_runs)
        verdict = "met" if p95 < 100 and rmed / med >= 50 else "NOT met"
        print(f"{label_:<22}{med:>13.1f} ms{p95:>7.1f} ms{rmed:>15.1f} ms{rp95:>7.1f} ms{rmed / med:>9.0f}x"
              f"   [aim p95 < 100 ms and >= 50x: {verdict}]")


if __name__ == "__main__":
    main()
