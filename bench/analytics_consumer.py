"""The analytics consumer's own path in-process, on PostgreSQL: CPU per event (issue 16).

    .venv/bin/python bench/analytics_consumer.py                 # a fresh database on 127.0.0.1:5432
    .venv/bin/python bench/analytics_consumer.py --profile 30    # and the 30 costliest functions (cProfile)

What `EventConsumer.flush` does with a delivery, without the broker: each message decoded and validated
(`Event.from_message`: the envelope and the payload schema), then `Applier.apply_batch` (the inbox
statement, the tenant rule, the handlers: one transaction per delivery of up to 100). The events are a
generated month of a group (`crm.datagen.events`), a group's creation first. It prints the
CPU seconds of this process per event (the database server's are not counted) and the rate that CPU
alone would allow, beside the issue's aim of 5,000 events/s through the consumer. Through the real
consumer on RabbitMQ, with the database's share: `bench/pipeline.py --no-bare` (its backlog part).
"""
from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR, ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402

from crm.datagen import events as G  # noqa: E402
from bench.consumer_loop import loop_options, report, timed_deliveries  # noqa: E402
from shared.bus.consumer import Applier  # noqa: E402
import psycopg  # noqa: E402

from tests.conftest import PG_ADMIN_URL, PG_OWNER, _ensure_role, _pg_database  # noqa: E402

GOAL = 5000.0  # events/s through the consumer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=30, help="days of generated history")
    args = loop_options(ap).parse_args()
    from services.analytics.entrypoints.consumers import handlers
    from tests.analytics.conftest import analytics_runtime

    org = G.make_org(brands=2, stores_per_brand=2, consultants=3)
    messages = G.identity_messages(org, datetime(2026, 1, 1, tzinfo=UTC)) + list(
        G.history(org, date(2026, 8, 1), args.days, leads_per_store_day=2, seed=11))
    bodies = [json.dumps(m) for m in sorted(messages, key=lambda m: m["type"] != "identity.group.created")]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        _ensure_role(conn, PG_OWNER)
    database = _pg_database(PG_ADMIN_URL)
    try:
        rt = analytics_runtime(tempfile.mkdtemp(prefix="crm-analytics-consumer-"),
                               {"ANALYTICS_DATABASE_URL": next(database)})
        applier = Applier(rt.db, rt.inbox, handlers)
        cpu = timed_deliveries(applier, bodies, args.batch, args.profile)
        rt.db.engine.dispose()
    finally:
        next(database, None)
    report(len(bodies), args.batch, cpu, args.profile, f"aim through the consumer: {GOAL:,.0f}/s")

if __name__ == "__main__":
    main()
