"""Call-center test helpers: feed events through the consumer, move the clock, pick a quiet store."""
from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shared import clock
from shared.events import Event
from shared.tenancy import Scope
from tests.conftest import FrozenClock

SH = ZoneInfo("Asia/Shanghai")


def stable(kind: str, code: str) -> str:
    from services.identity.entrypoints.seed import stable_id

    return stable_id(kind, code)


GID = stable("group", "demo")


def store(code: str) -> str:
    return stable("store", f"demo/{code}")


def brand(code: str) -> str:
    return stable("brand", f"demo/{code}")


def local(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture
def frozen():
    """Move the platform clock; always put it back."""
    yield FrozenClock()
    clock.reset()


def feed(platform, ev: Event) -> bool:
    """Apply one event through the call center's consumer (inbox + handlers), as the bus would."""
    from shared.bus.consumer import Applier

    rt = platform.runtimes["callcenter"]
    return Applier(rt.db, rt.inbox, rt.handlers).apply(ev)


def cc_session(platform, scope: Scope | None = None):
    return platform.runtimes["callcenter"].db.session(scope or Scope.system(GID))


def new_customer(platform, store_code: str, name: str = "测试客户", do_not_call: bool = False,
                 consent: dict | None = None) -> tuple[str, str]:
    """A customer known to the call center (as customers would announce it); returns (id, phone)."""
    cid, phone = str(uuid.uuid4()), f"+86139{uuid.uuid4().int % 10**8:08d}"
    feed(platform, Event(type="customers.customer.created", group_id=GID, store_id=store(store_code),
                         data={"customer_id": cid, "name": name, "phone": phone, "do_not_call": do_not_call,
                               "consent": consent or {"phone": True}}))
    feed(platform, Event(type="customers.relationship.linked", group_id=GID, store_id=store(store_code),
                         data={"customer_id": cid, "store_id": store(store_code), "brand_id": brand("toyota"),
                               "customer_class": "self_sold"}))
    return cid, phone


def delivered(platform_or_none, store_code: str, brand_code: str, delivered_on, order_id: str | None = None,
              phone: str | None = None, name: str = "王先生", event_id: str | None = None) -> Event:
    ev = Event(type="leads.vehicle.delivered", group_id=GID, store_id=store(store_code), brand_id=brand(brand_code),
               data={"lead_id": str(uuid.uuid4()), "order_id": order_id or str(uuid.uuid4()),
                     "vin": f"LVV{uuid.uuid4().hex[:14].upper()}", "model": "凯美瑞", "delivered_on": delivered_on,
                     "customer_name": name, "phone": phone or f"+86138{uuid.uuid4().int % 10**8:08d}"})
    if event_id:
        ev.id = event_id
    if platform_or_none is not None:
        feed(platform_or_none, ev)
    return ev


def csrf(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def signed_in(platform, username: str):
    """A page session (cookie + CSRF) of one demo user; sign in before the clock moves."""
    from werkzeug.test import Client

    c = Client(platform.wsgi())
    token = csrf(c.get("/identity/login").get_data(as_text=True))
    r = c.post("/identity/login", data={"group": "demo", "username": username, "password": "demo-pass-2026",
                                         "csrf_token": token})
    assert r.status_code == 302
    return c
