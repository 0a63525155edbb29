"""One demo lead's story, planned as dated steps (see `crm.demo`).

Planning draws the dates and the fate of a lead; each step is a plain function that runs later, at
its date, and draws the rest (notes, answers) then. The order of the draws is part of the output:
a given seed gives the same demo.
"""
from __future__ import annotations

import base64
import json
import logging
import random
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from functools import partial
from typing import Any

from faker import Faker
from werkzeug.test import Client

from crm.datagen import (CANCEL_REASONS, COLOURS, COMPETITORS, CONSULTANTS_PER_STORE, INSURERS, LEVEL_SIGNALS,
                         MODELS, NOTES, RANK, phone, vin, weighted_source)
from shared import clock

log = logging.getLogger(__name__)

GROUP = "demo"
PASSWORD = "demo-pass-2026"
TZ = clock.zone()
CONSULTANTS = CONSULTANTS_PER_STORE

Step = Callable[[], None]


class DemoSeedError(RuntimeError):
    pass


class Http:
    """JSON calls as a demo user; counts calls and failures."""

    def __init__(self, wsgi: Any) -> None:
        self.wsgi = wsgi
        self.client = Client(wsgi, use_cookies=False)
        self.tokens: dict[str, str] = {}
        self.user_ids: dict[str, str] = {}
        self.calls = 0
        self.errors: list[str] = []

    def _login(self, username: str) -> tuple[str, str]:
        r = Client(self.wsgi, use_cookies=False).post(
            "/identity/api/v1/auth/login", json={"group": GROUP, "username": username, "password": PASSWORD})
        if r.status_code != 200:
            raise DemoSeedError(f"login {username}: {r.status_code} {r.get_data(as_text=True)[:200]}")
        return username, r.get_json()["access_token"]

    def login_all(self, usernames: list[str]) -> None:
        with ThreadPoolExecutor(max_workers=4) as pool:
            for username, token in pool.map(self._login, usernames):
                self.tokens[username] = token
                payload = token.split(".")[1]
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                self.user_ids[username] = claims["sub"]

    def call(self, method: str, path: str, user: str, body: dict | None = None,
             quiet: tuple[int, ...] = ()) -> Any:
        """The JSON answer ({} when empty), or None on a status of 300 or more."""
        r = self.client.open(path, method=method, json=body,
                             headers={"Authorization": f"Bearer {self.tokens[user]}"})
        self.calls += 1
        if r.status_code >= 300:
            if r.status_code not in quiet:
                msg = f"{method} {path} as {user}: {r.status_code} {r.get_data(as_text=True)[:300]}"
                self.errors.append(msg)
                log.warning("demo activity: %s", msg)
            return None
        return r.get_json() if r.data else {}


@dataclass
class Run:
    """What every step shares: the caller, the random sources, the counts and the plan."""

    http: Http
    rng: random.Random
    fake: Faker
    today: date
    limit: datetime  # nothing may happen after it
    counts: Counter = field(default_factory=Counter)
    plan: list[tuple[datetime, int, Step]] = field(default_factory=list)
    used_phones: set[str] = field(default_factory=set)
    reached_tasks: list[str] = field(default_factory=list)  # callbacks an agent reached, oldest first
    #: the store callbacks HQ sampled for a spot check: id → whether the store said it reached the customer
    sampled_callbacks: dict[str, bool] = field(default_factory=dict)
    spot_share: float = 0.3  # HQ's share once every store callback was re-called until one reached was sampled
    auditing: bool = True  # HQ re-calls every store callback until the first one the store reached

    def add(self, when: datetime, step: Step) -> bool:
        """Plans `step` at `when`, unless that is in the future."""
        if when > self.limit:
            return False
        self.plan.append((when, len(self.plan), step))
        return True

    def phone(self) -> str:
        return phone(self.rng, self.used_phones)

    def vin(self, brand: str) -> str:
        return vin(self.rng, brand)

    def day_of(self, offset: int) -> date:
        return self.today - timedelta(days=offset)


def local(day: date, hh: int, mm: int) -> datetime:
    """`hh:mm` on `day` in the group's time zone, in UTC."""
    return datetime.combine(day, dtime(hh, mm), TZ).astimezone(UTC)


@dataclass
class Lead:
    """A planned lead and what its steps learned so far (ids, level)."""

    seller: str
    manager: str
    source: str
    model: str
    price: int
    name: str
    phone: str
    id: str | None = None
    level: str = "N"
    order_id: str | None = None
    delivered: bool = False
    vin: str = ""
    test_drive_id: str | None = None
    defeat_id: str | None = None


# --- the steps (run at their date) -----------------------------------------------------------------

def create(run: Run, lead: Lead, came_at: datetime | None = None) -> None:
    """The lead, or the visit it came with; a visit typed in late (`came_at` earlier) keeps the time it came."""
    rng = run.rng
    if lead.source in ("walk_in", "phone_in"):
        body: dict[str, Any] = {"kind": lead.source, "name": lead.name, "phone": lead.phone, "model": lead.model,
                                "party_size": rng.choice((1, 1, 2, 2, 3))}
        if lead.source == "walk_in":
            came = came_at or clock.now()
            body["time_in"] = came.isoformat()
            body["time_out"] = (came + timedelta(minutes=rng.randint(20, 90))).isoformat()
        r = run.http.call("POST", "/leads/api/v1/visits", lead.seller, body)
        if r:
            run.counts["visits"] += 1
            lead.id = r.get("lead_id")
    else:
        r = run.http.call("POST", "/leads/api/v1/leads", lead.seller, {
            "name": lead.name, "phone": lead.phone, "source": lead.source, "model": lead.model,
            "note": rng.choice(NOTES) if rng.random() < 0.5 else None})
        if r:
            lead.id = r["id"]
    if lead.id:
        run.counts["leads"] += 1


def follow_up(run: Run, lead: Lead, kind: str, outcome: str, level: str | None) -> None:
    if not lead.id:
        return
    rng = run.rng
    body: dict[str, Any] = {"kind": kind, "outcome": outcome, "note": rng.choice(NOTES) if rng.random() < 0.3 else None}
    if level and (level == "invalid" or RANK.get(level, 0) > RANK.get(lead.level, 9)):
        body["level"] = level
        body["signals"] = rng.sample(LEVEL_SIGNALS[level], 1) if level in LEVEL_SIGNALS else []
    if outcome != "no_answer" and level != "invalid" and rng.random() < 0.25:
        # the customer named a day for the next contact: it wins over the level's cadence (issue 13)
        day = clock.now().astimezone(TZ).date() + timedelta(days=rng.randint(1, 3))
        body["next_planned_at"] = local(day, 10, 30).isoformat()
    if run.http.call("POST", f"/leads/api/v1/leads/{lead.id}/follow-ups", lead.seller, body):
        run.counts["follow_ups"] += 1
        if level is not None and "level" in body:
            lead.level = level
            run.counts["gradings"] += 1


def book_test_drive(run: Run, lead: Lead) -> None:
    if lead.id:
        r = run.http.call("POST", f"/leads/api/v1/leads/{lead.id}/test-drives", lead.seller, {"model": lead.model})
        lead.test_drive_id = r and r["id"]


def complete_test_drive(run: Run, lead: Lead) -> None:
    if lead.test_drive_id and run.http.call("POST", f"/leads/api/v1/test-drives/{lead.test_drive_id}/complete",
                                            lead.seller):
        run.counts["test_drives"] += 1


def place_order(run: Run, lead: Lead, deposit: int, pay: str) -> None:
    if not lead.id:
        return
    rng = run.rng
    r = run.http.call("POST", f"/leads/api/v1/leads/{lead.id}/orders", lead.seller, {
        "model": lead.model, "colour": rng.choice(COLOURS), "price": str(lead.price - rng.choice((0, 3000, 8000))),
        "deposit": str(deposit), "payment_method": pay, "trade_in": lead.source == "owner_replacement",
        "expected_delivery": (clock.now().astimezone(TZ).date() + timedelta(days=10)).isoformat(),
        "customer_kind": "corporate" if rng.random() < 0.08 else "individual",
        "signals": ["deposit_paid", "model_colour_chosen"]})
    if r:
        lead.order_id = r["id"]
        run.counts["orders"] += 1


def cancel_order(run: Run, lead: Lead) -> None:
    """The customer withdraws: the order is cancelled with a reason and the lead is open again."""
    if lead.order_id and run.http.call("POST", f"/leads/api/v1/orders/{lead.order_id}/cancellation", lead.seller,
                                       {"reason": run.rng.choice(CANCEL_REASONS)}):
        run.counts["orders_cancelled"] += 1
        lead.order_id = None


def store_callback(run: Run, lead: Lead) -> None:
    """The store calls its new owner itself and logs it; HQ samples a share of these for a spot check."""
    if not lead.delivered:
        return
    rng = run.rng
    reached, satisfaction = rng.random() < 0.9, rng.choice((4, 5, 5))
    found = run.http.call("GET", f"/customers/api/v1/customers?phone={lead.phone}", lead.manager)
    cb = found and run.http.call("POST", "/callcenter/api/v1/store-callbacks", lead.manager, {
        "customer_id": found[0]["id"], "kind": "delivery_callback", "reached": reached,
        "satisfaction": satisfaction if reached else None, "note": "门店自行回访" if reached else "未接通"})
    if not cb:
        return
    run.counts["store_callbacks"] += 1
    if cb.get("sampled"):
        run.sampled_callbacks[cb["id"]] = reached
    if reached and cb.get("sampled") and run.auditing:
        # which callbacks a share samples depends on their ids (random): sampling all of them until one the
        # store reached is in makes the demo's spot checks the same on every run
        run.auditing = False
        if run.http.call("PUT", "/callcenter/api/v1/settings", "hq.admin", {"spot_check_share": run.spot_share}):
            run.counts["settings"] += 1


def deliver(run: Run, lead: Lead, at: datetime) -> None:
    on = at.astimezone(TZ).date().isoformat()
    if lead.order_id and run.http.call("POST", f"/leads/api/v1/orders/{lead.order_id}/delivery", lead.seller,
                                       {"vin": lead.vin, "delivered_on": on}):
        run.counts["deliveries"] += 1
        lead.delivered = True


def insure(run: Run, lead: Lead, delivered_at: datetime) -> None:
    if not lead.delivered:
        return
    rng = run.rng
    start = delivered_at.astimezone(TZ).date()
    if run.http.call("POST", "/customers/api/v1/insurance-policies", lead.manager, {
            "customer_name": lead.name, "phone": lead.phone, "vin": lead.vin,
            "policy_no": f"PDAA{start:%Y}{rng.randrange(10**10):010d}", "insurer": rng.choice(INSURERS),
            "starts_on": start.isoformat(), "ends_on": (start + timedelta(days=364)).isoformat(),
            "premium": str(rng.randint(45, 120) * 100)}):
        run.counts["insurance_policies"] += 1


def propose_defeat(run: Run, lead: Lead, reason: str) -> None:
    if not lead.id:
        return
    body = {"reason": reason, "note": "客户已决定"}
    if reason == "competitor":
        body["competitor_brand"], body["competitor_model"] = run.rng.choice(COMPETITORS)
    r = run.http.call("POST", f"/leads/api/v1/leads/{lead.id}/defeat", lead.seller, body)
    if r:
        lead.defeat_id = r["id"]
        run.counts["defeat_proposals"] += 1


def decide_defeat(run: Run, lead: Lead, approve: bool) -> None:
    if lead.defeat_id and run.http.call("POST", f"/leads/api/v1/defeats/{lead.defeat_id}/decision", lead.manager,
                                        {"approve": approve, "note": None if approve else "再跟进一次"}):
        run.counts["defeats_approved" if approve else "defeats_sent_back"] += 1


# --- planning a lead ---------------------------------------------------------------------------------

def pick_fate(rng: random.Random, age: int) -> str:
    """Where a lead created `age` days ago has got to by today."""
    if age <= 1:
        return rng.choices(["N", "C", "B"], [5, 3, 2])[0]
    fate = rng.choices(["C", "B", "A", "H", "O", "delivered", "defeated", "invalid"],
                       [20, 22, 13, 8, 9, 13, 11, 2])[0]
    if fate == "delivered" and age < 10:
        fate = "O" if age >= 3 else "A"
    if fate == "O" and age < 3:
        fate = "A"
    if fate == "defeated" and age < 4:
        fate = "C"
    return fate


def plan_lead(run: Run, st: dict, age: int, fate: str | None = None, delivery_ago: int | None = None) -> None:
    """Plans a lead created `age` days ago at store `st` and what becomes of it."""
    rng = run.rng
    seller = f"{st['code']}.sales{rng.randint(1, CONSULTANTS)}"
    source = weighted_source(rng)
    model, price = rng.choice(MODELS[st["brand"]])
    lead = Lead(seller=seller, manager=f"{st['code']}.manager", source=source, model=model, price=price,
                name=run.fake.name(), phone=run.phone())
    d0 = run.day_of(age)
    t0 = local(d0, rng.randint(9, 17), rng.choice((0, 10, 20, 30, 40, 50)))
    if fate is None:
        fate = pick_fate(rng, age)
    if source == "walk_in" and age >= 3 and rng.random() < 0.12:
        # the visit was typed in the next morning: it counts on the day the customer came (issue 13)
        typed = local(d0 + timedelta(days=1), 9, rng.choice((5, 20, 35)))
        run.add(typed, partial(create, run, lead, t0))
        t0, age = typed, age - 1
    else:
        run.add(t0, partial(create, run, lead))
    last = _plan_contacts(run, lead, t0, age, fate)
    if last is None:
        return
    if fate in ("O", "delivered"):
        _plan_sale(run, lead, st["brand"], d0, last, age, fate, delivery_ago)
    elif fate == "defeated":
        _plan_defeat(run, lead, last, age)
    elif rng.random() < 0.35 and age >= 2:  # open leads: some were contacted recently, the rest show up as overdue
        run.add(local(run.day_of(rng.randint(0, 1)), rng.randint(9, 11), rng.choice((5, 25, 45))),
                partial(follow_up, run, lead, rng.choice(("call", "sms_wechat")), "reached", None))


def _plan_contacts(run: Run, lead: Lead, t0: datetime, age: int, fate: str) -> datetime | None:
    """The first response and judgement, then a second contact; the time of the last, or None when done."""
    rng = run.rng
    t1 = t0 + timedelta(minutes=rng.randint(8, 150))
    if fate == "N":
        if rng.random() < 0.5:
            run.add(t1, partial(follow_up, run, lead, "call", "no_answer", None))
        return None
    if fate == "invalid":
        run.add(t1, partial(follow_up, run, lead, "call", "not_interested", "invalid"))
        return None
    target = _target_level(rng, fate)
    first = "C" if target == "C" or rng.random() < 0.4 else "B"
    kind = "visit" if lead.source == "walk_in" else "call"
    if not run.add(t1, partial(follow_up, run, lead, kind, "reached", first)):
        return None
    return _plan_second_contact(run, lead, t1, age, target, first)


def _target_level(rng: random.Random, fate: str) -> str:
    """The highest level a lead with this fate reaches on the way."""
    if fate in RANK:
        return fate
    if fate == "defeated":
        return "C" if rng.random() < 0.5 else rng.choice(("B", "A"))
    return rng.choice(("A", "H"))


def _plan_second_contact(run: Run, lead: Lead, last: datetime, age: int, target: str, first: str) -> datetime:
    """A second contact a few days later raises the level; a test drive goes with it."""
    rng = run.rng
    if RANK[target] > RANK[first] and age >= 2:
        t2 = local(run.day_of(age - rng.randint(1, min(age - 1, 6))), rng.randint(10, 17),
                   rng.choice((0, 15, 30, 45)))
        if run.add(t2, partial(follow_up, run, lead, "visit", rng.choice(("visited_showroom", "appointment")), target)):
            last = t2
            if rng.random() < 0.7:
                run.add(t2 + timedelta(minutes=5), partial(book_test_drive, run, lead))
                run.add(t2 + timedelta(minutes=50), partial(complete_test_drive, run, lead))
                last = t2 + timedelta(minutes=50)
    elif target == "B" and age >= 2 and rng.random() < 0.4:
        t2 = local(run.day_of(age - rng.randint(1, min(age - 1, 6))), rng.randint(10, 17), 0)
        run.add(t2, partial(follow_up, run, lead, "sms_wechat", "reached", None))
        last = max(last, t2)
    return last


def _plan_sale(run: Run, lead: Lead, brand: str, d0: date, last: datetime, age: int, fate: str,
               delivery_ago: int | None) -> None:
    """An order after the last contact and, for a delivered lead, the delivery and often the insurance."""
    rng = run.rng
    lo_days = (last.astimezone(TZ).date() - d0).days + 1
    if delivery_ago is not None:
        order_day = run.day_of(delivery_ago + rng.randint(5, 10))
    else:
        min_ago = 8 if fate == "delivered" else 0
        order_day = run.day_of(rng.randint(min_ago, max(min_ago, min(age - lo_days, min_ago + 20))))
    t_order = max(local(order_day, rng.randint(10, 17), 30), last + timedelta(minutes=30))
    deposit = rng.choice((5000, 10000, 20000))
    pay = rng.choices(("cash", "financing", "installment", "lease"), [4, 4, 1, 1])[0]
    if not run.add(t_order, partial(place_order, run, lead, deposit, pay)):
        return
    if fate == "O" and rng.random() < 0.4:  # some customers withdraw within a week (issue 13)
        run.add(t_order + timedelta(days=rng.randint(1, 6), hours=1), partial(cancel_order, run, lead))
    if fate != "delivered":
        return
    if delivery_ago is not None:
        d_day = run.day_of(delivery_ago)
    else:
        d_day = min(t_order.astimezone(TZ).date() + timedelta(days=rng.randint(5, 14)), run.day_of(1))
    t_deliv = max(local(d_day, rng.randint(10, 16), 0), t_order + timedelta(hours=1))
    lead.vin = run.vin(brand)
    if run.add(t_deliv, partial(deliver, run, lead, t_deliv)) and rng.random() < 0.7:
        run.add(t_deliv + timedelta(hours=1), partial(insure, run, lead, t_deliv))
    if rng.random() < 0.6:  # the store's own callback the next day (a share is spot-checked by HQ)
        run.add(t_deliv + timedelta(days=1, hours=2), partial(store_callback, run, lead))


def _plan_defeat(run: Run, lead: Lead, last: datetime, age: int) -> None:
    """The consultant proposes to give the lead up; the manager mostly approves."""
    rng = run.rng
    t_def = max(local(run.day_of(max(1, age - rng.randint(3, min(age - 1, 14)))), rng.randint(10, 17), 0),
                last + timedelta(minutes=30))
    reason = rng.choices(("price", "competitor", "financing", "postponed", "other"), [3, 4, 1, 2, 1])[0]
    approve = rng.random() < 0.85
    if run.add(t_def, partial(propose_defeat, run, lead, reason)):
        run.add(t_def + timedelta(hours=rng.randint(2, 20)), partial(decide_defeat, run, lead, approve))
