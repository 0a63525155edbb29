"""The identity consumer's own path in-process, on PostgreSQL: CPU per event (issue 16).

    .venv/bin/python bench/identity_consumer.py                  # a fresh database on 127.0.0.1:5432
    .venv/bin/python bench/identity_consumer.py --profile 30     # and the 30 costliest functions (cProfile)

What `EventConsumer.flush` does with a delivery, without the broker: each message decoded and validated
(`Event.from_message`), then `Applier.apply_batch` (the inbox statement, the tenant rule, the to-do rules:
one transaction per delivery of up to 100). The events are what leads sends about its leads, for the
demo group's consultants (`services.identity.entrypoints.seed`): each lead created with its consultant
and a due day, its first contact logged (one in four later than the SLA: the managers are told), its
due day moved, and one in four closed as defeated; the group's WeCom robot is set and half the
consultants take its notices (quiet hours 22:00-08:00). It prints the CPU seconds of this process per
event (the database server's are not counted) and what the run made (items, closed ones, notices).
Through the real consumer on RabbitMQ, with the database's share: `bench/pipeline.py --no-bare` (its backlog part).
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
from datetime import date, timedelta  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from shared import config  # noqa: E402
from bench.consumer_loop import LEAD_AIM, fresh_database, loop_options, report, timed_deliveries  # noqa: E402
from shared.bus.consumer import Applier  # noqa: E402
from shared.events import Event  # noqa: E402
from shared.tenancy import Scope  # noqa: E402
from tests.conftest import embedded_env  # noqa: E402

def lead_events(gid: str, consultants: list[tuple[str, str]], leads: int) -> list[dict]:
    """Four or five wire messages per lead, in the order leads emits them."""
    out = []
    for n in range(leads):
        user_id, store_id = consultants[n % len(consultants)]
        lead, due = str(uuid.uuid4()), date(2026, 12, 1) + timedelta(days=n % 3)
        evs = [("leads.lead.created", {"lead_id": lead, "name": f"客户{n}", "phone": f"+86137{n:08d}",
                                       "source": "walk_in", "consultant_id": user_id, "due_on": due}),
               ("leads.followup.logged", {"lead_id": lead, "followup_id": str(uuid.uuid4()), "kind": "call",
                                          "consultant_id": user_id, "first_contact": True,
                                          "within_sla": n % 4 != 0, "response_seconds": 600}),
               ("leads.lead.due_changed", {"lead_id": lead, "consultant_id": user_id,
                                           "due_on": due + timedelta(days=3)})]
        if n % 4 == 1:
            evs.append(("leads.lead.level_changed", {"lead_id": lead, "from_level": "C", "to_level": "defeated"}))
        out += [Event(type=t, group_id=gid, store_id=store_id, data=d).to_message() for t, d in evs]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--leads", type=int, default=500, help="leads whose events are applied")
    args = loop_options(ap).parse_args()
    from services.identity.adapters.models import Delivery, GroupChannels, NotifySettings, TodoItem, User
    from services.identity.bootstrap import build
    from services.identity.entrypoints.consumers import handlers
    from services.identity.entrypoints.seed import seed_group

    with fresh_database() as url:
        env = {**embedded_env(tempfile.mkdtemp(prefix="crm-identity-consumer-")), "IDENTITY_DATABASE_URL": url}
        rt = build(config.load("identity", env))
        rt.migrate()
        gid = seed_group(rt)
        with rt.db.session(Scope.system(gid)) as s:
            consultants = [(u.id, u.store_id) for u in
                           s.execute(select(User.id, User.store_id).where(User.role == "sales_consultant"))]
            # the group's channels on, and half the consultants take WeCom notices (quiet at night)
            s.add(GroupChannels(group_id=gid, wecom_webhook="http://127.0.0.1:9/robot"))
            s.add_all(NotifySettings(group_id=gid, user_id=uid, wecom=True, quiet_start="22:00", quiet_end="08:00")
                      for uid, _ in consultants[::2])
        created = Event(type="identity.group.created", group_id=gid, data={"id": gid, "code": "demo",
                                                                            "name": "demo", "timezone": "Asia/Shanghai"})
        bodies = [json.dumps(m, default=str) for m in [created.to_message(), *lead_events(gid, consultants, args.leads)]]
        applier = Applier(rt.db, rt.inbox, handlers)
        cpu = timed_deliveries(applier, bodies, args.batch, args.profile)
        with rt.db.session(Scope.system(gid)) as s:  # what it made, to compare runs
            made = [*s.execute(select(func.count(), func.count(TodoItem.done_at))).one(),
                    s.scalar(select(func.count()).select_from(Delivery))]
        rt.db.engine.dispose()
    report(len(bodies), args.batch, cpu, args.profile, LEAD_AIM,
           f"{made[0]} items made, {made[1]} of them closed, {made[2]} notices")

if __name__ == "__main__":
    main()
