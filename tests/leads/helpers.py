"""Small helpers for the leads tests."""
from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from werkzeug.test import Client

from services.leads.adapters.models import OUTBOX
from tests.conftest import DEMO_PASSWORD

LEADS = "/leads/api/v1"


def sh(y, mo, d, h=0, mi=0) -> datetime:
    """A Shanghai wall-clock time as an aware UTC datetime."""
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


_n = [0]


def phone() -> str:
    """A fresh valid mainland mobile number for each call."""
    _n[0] += 1
    return f"139{uuid.uuid4().int % 10**4:04d}{_n[0]:04d}"


def new_lead(api, as_: str, **kw) -> dict:
    body = {"name": "测试客户", "phone": phone(), "source": "walk_in", **kw}
    r = api.post(f"{LEADS}/leads", as_=as_, json=body)
    assert r.status_code == 201, r.json
    return r.json


def events(platform, type_: str) -> list[dict]:
    """Payloads of one event type written to the leads outbox."""
    with platform.runtimes["leads"].db.engine.connect() as c:
        rows = c.execute(select(OUTBOX.c.body).where(OUTBOX.c.routing_key == type_)).scalars().all()
    return [json.loads(b) for b in rows]


def browser(platform, username: str) -> Client:
    """A signed-in browser session (cookies, CSRF tokens) on the embedded platform's pages, in Chinese."""
    c = Client(platform.wsgi())
    token = _csrf(c.get("/identity/login").get_data(as_text=True))
    r = c.post("/identity/login", data={"group": "demo", "username": username, "password": DEMO_PASSWORD,
                                        "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    c.get("/identity/lang/zh_CN?next=/identity/")
    return c


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
