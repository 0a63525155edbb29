"""The customers consumer's own path in-process, on PostgreSQL: CPU per event (issue 16).

    .venv/bin/python bench/customers_consumer.py                 # a fresh database on 127.0.0.1:5432
    .venv/bin/python bench/customers_consumer.py --profile 30    # and the 30 costliest functions (cProfile)

What `EventConsumer.flush` does with a delivery, without the broker: each message decoded and validated
(`Event.from_message`), then `Applier.apply_batch` (the inbox statement, the tenant rule, the handlers:
one transaction per delivery of up to 100). The events are the `leads.lead.created` of a generated
history of a group (`crm.datagen.events`), after the group's org tree as identity publishes it (the
stores the relationships name); `--known` of the leads come back with the phone of an earlier lead
(a returning customer, at its store or at another one: a cross-store match). It prints the CPU
seconds of this process per event (the database server's are not counted) and what the run made
(customers, relationships, outbox rows). Through the real consumer on RabbitMQ, with the database's
share: `bench/pipeline.py --no-bare` (its backlog part).
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
import random  # noqa: E402
import tempfile  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from bench.consumer_loop import LEAD_AIM, fresh_database, loop_options, report, timed_deliveries  # noqa: E402
from crm.datagen import events as G  # noqa: E402
from shared import config  # noqa: E402
from shared.bus.consumer import Applier  # noqa: E402
from shared.tenancy import Scope  # noqa: E402
from tests.conftest import embedded_env  # noqa: E402

def lead_messages(org: G.Org, days: int, known: float, seed: int = 11) -> list[dict]:
    """The `leads.lead.created` of `days` days of the group's history, in order; a share `known` of them
    carries the phone of an earlier lead instead of a new one."""
    rnd = random.Random(seed)
    out: list[dict] = []
    for m in G.history(org, date(2026, 8, 1), days, leads_per_store_day=5, seed=seed, reports=False):
        if m["type"] != "leads.lead.created":
            continue
        if out and rnd.random() < known:
            m["data"]["phone"] = rnd.choice(out)["data"]["phone"]
        out.append(m)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=60, help="days of generated history (5 leads per store a day)")
    ap.add_argument("--known", type=float, default=0.2, help="share of leads whose phone an earlier lead had")
    args = loop_options(ap).parse_args()
    from services.customers.adapters.models import Customer, StoreRelationship
    from services.customers.bootstrap import build
    from services.customers.entrypoints.consumers import handlers

    org = G.make_org(brands=2, stores_per_brand=2, consultants=3)
    tree = G.identity_messages(org, datetime(2026, 1, 1, tzinfo=UTC))
    leads = lead_messages(org, args.days, args.known)
    with fresh_database() as url:
        env = {**embedded_env(tempfile.mkdtemp(prefix="crm-customers-consumer-")), "CUSTOMERS_DATABASE_URL": url}
        rt = build(config.load("customers", env))
        rt.migrate()
        applier = Applier(rt.db, rt.inbox, handlers)
        timed_deliveries(applier, [json.dumps(m) for m in tree], args.batch)  # the org tree, not timed
        bodies = [json.dumps(m) for m in leads]
        cpu = timed_deliveries(applier, bodies, args.batch, args.profile)
        with rt.db.session(Scope.system(org.group_id)) as s:  # what it made, to compare runs
            made = [s.scalar(select(func.count()).select_from(Customer)),
                    s.scalar(select(func.count()).select_from(StoreRelationship)),
                    s.scalar(select(func.count()).select_from(rt.outbox))]
        rt.db.engine.dispose()
    customers, relationships, emitted = made
    report(len(bodies), args.batch, cpu, args.profile, LEAD_AIM,
           f"{customers} customers, {relationships} relationships, {emitted} events emitted")


if __name__ == "__main__":
    main()
