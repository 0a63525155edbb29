"""Helpers for the customers tests: feed events as the consumer would, random identities."""
from __future__ import annotations

import random
import string

from sqlalchemy import select

from services.customers.entrypoints.consumers import handlers
from services.identity.entrypoints.seed import stable_id
from shared.bus.consumer import Applier
from shared.events import Event, schema_for
from shared.tenancy import Scope
from tests.conftest import store_id

GROUP = stable_id("group", "demo")
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def brand_id(code: str) -> str:
    return stable_id("brand", f"demo/{code}")


def mobile() -> str:
    """A random valid mainland mobile number, 11 digits."""
    return "139" + "".join(random.choices(string.digits, k=8))


def vin() -> str:
    return "".join(random.choices(VIN_CHARS, k=17))


def id_number() -> str:
    return "3101" + "".join(random.choices(string.digits, k=13)) + "X"


def runtime(platform):
    return platform.runtimes["customers"]


def feed(platform, type_: str, data: dict, store: str | None = None, brand: str | None = None,
         actor: str | None = None) -> Event:
    """Apply one event exactly as the customers consumer does (inbox + handlers in one unit of work)."""
    rt = runtime(platform)
    data = schema_for(type_, 1)().load(data)  # as the producer builds it: dates and decimals, not text
    ev = Event(type=type_, group_id=GROUP, data=data, store_id=store_id(store) if store else None,
               brand_id=brand_id(brand) if brand else None, actor=actor)
    ev = Event.from_message(ev.to_message())  # what travels on the bus, validated
    Applier(rt.db, rt.inbox, handlers).apply(ev)
    return ev


def outbox_events(platform, type_: str) -> list[dict]:
    import json

    rt = runtime(platform)
    t = rt.outbox
    with rt.db.engine.connect() as conn:
        rows = conn.execute(select(t.c.body).where(t.c.routing_key == type_).order_by(t.c.seq)).all()
    return [json.loads(r.body) for r in rows]


def system_session(platform):
    return runtime(platform).db.session(Scope.system(GROUP))


def stores_known(platform) -> bool:
    """The store list from identity has reached the customers service (it arrives through the bus)."""
    from sqlalchemy import func

    from services.customers.adapters.models import StoreRef

    with system_session(platform) as s:
        return s.scalar(select(func.count(StoreRef.id))) >= 12
