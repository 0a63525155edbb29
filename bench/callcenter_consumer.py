"""The call-center consumer's own path in-process, on PostgreSQL: CPU per event (issue 16).

    .venv/bin/python bench/callcenter_consumer.py                # a fresh database on 127.0.0.1:5432
    .venv/bin/python bench/callcenter_consumer.py --profile 30   # and the 30 costliest functions (cProfile)

What `EventConsumer.flush` does with a delivery, without the broker: each message decoded and validated
(`Event.from_message`), then `Applier.apply_batch` (the inbox statement, the tenant rule, the handlers:
one transaction per delivery of up to 100). The events are those of a generated month of a group, from
three days ago on (a callback already too late to make is not planned, so an older history plans none),
(`crm.datagen.events`) that the call center's queue is bound to, in the order they were generated:
identity's org tree first (the stores' and brands' copies), then each lead's customer (customers'
`customer.created` beside the generated `relationship.linked`: customers sends both for a lead),
deliveries (a delivery callback each), approved defeats (a verification each) and service visits (a
service callback each). It prints the CPU seconds of this process per event (the database server's are
not counted) and what the run made (contacts, tasks), to compare runs. Through the real consumer on
RabbitMQ, with the database's share: `bench/pipeline.py --no-bare` (its backlog part).
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
import uuid  # noqa: E402
from collections.abc import Iterable  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from bench.consumer_loop import LEAD_AIM, fresh_database, loop_options, report, timed_deliveries  # noqa: E402
from crm.datagen import events as G  # noqa: E402
from shared import config  # noqa: E402
from shared.bus.consumer import Applier, _topic_match  # noqa: E402
from shared.tenancy import Scope  # noqa: E402
from tests.conftest import embedded_env  # noqa: E402

def with_customers(messages: Iterable[dict]) -> list[dict]:
    """The generated history with each lead's customer as customers publishes it: `customer.created` (name,
    phone) just before the `relationship.linked` the generator writes for the lead."""
    leads: dict[str, dict] = {}
    out = []
    for m in messages:
        if m["type"] == "leads.lead.created":
            leads[m["data"]["lead_id"]] = m
        elif m["type"] == "customers.relationship.linked" and m["data"].get("lead_id") in leads:
            lead = leads[m["data"]["lead_id"]]["data"]
            out.append({**m, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"customer/{m['id']}")),
                        "type": "customers.customer.created",
                        "data": {"customer_id": m["data"]["customer_id"], "name": lead["name"],
                                 "phone": lead["phone"], "kind": "individual", "do_not_call": False,
                                 "consent": {}, "erased": False}})
        out.append(m)
    return out


def bound(messages: list[dict], patterns: tuple[str, ...]) -> list[dict]:
    """What the queue receives: the messages its bindings match."""
    return [m for m in messages if any(_topic_match(p, m["type"]) for p in patterns)]


def generated_group(days: int) -> tuple[G.Org, list[dict]]:
    """The generated group and its messages: the org tree, then `days` of history from three days ago with
    each lead's customer."""
    org = G.make_org(brands=2, stores_per_brand=2, consultants=3)
    start = datetime.now(UTC).date() - timedelta(days=3)
    return org, G.identity_messages(org, datetime(2026, 1, 1, tzinfo=UTC)) + with_customers(
        G.history(org, start, days, leads_per_store_day=2, seed=11))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=30, help="days of generated history")
    args = loop_options(ap).parse_args()
    from services.callcenter.adapters.models import Contact, Task
    from services.callcenter.bootstrap import build
    from services.callcenter.entrypoints.consumers import handlers

    org, messages = generated_group(args.days)
    bodies = [json.dumps(m) for m in bound(messages, handlers.spec.patterns)]
    with fresh_database() as url:
        rt = build(config.load("callcenter", {**embedded_env(tempfile.mkdtemp(prefix="crm-callcenter-consumer-")),
                                              "CALLCENTER_DATABASE_URL": url}))
        rt.migrate()
        cpu = timed_deliveries(Applier(rt.db, rt.inbox, handlers), bodies, args.batch, args.profile)
        with rt.db.session(Scope.system(org.group_id)) as s:  # what it made, to compare runs
            contacts = s.scalar(select(func.count()).select_from(Contact))
            tasks = dict(s.execute(select(Task.task_type, func.count()).group_by(Task.task_type)).all())
        rt.db.engine.dispose()
    report(len(bodies), args.batch, cpu, args.profile, LEAD_AIM, f"{contacts} contacts, tasks {tasks}")


if __name__ == "__main__":
    main()
