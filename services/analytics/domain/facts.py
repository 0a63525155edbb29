"""From events to rollup contributions, independent of arrival order.

Two kinds of event:
- *stateless* ones (a visit, a survey, a service visit) contribute on their own, once per event id;
- *fact* events belong to an entity (a lead, a callback task, a complaint, a customer's relationship
  with a store, a daily report, a care schedule). The entity's fact keeps a compact summary of each
  of its events keyed by event id; its state is the fold of those summaries sorted by (time, id),
  so the same set of events gives the same state whatever order they came in, and twice is once.
  A change to a fact retracts its old contributions and adds its new ones (delta maintenance).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import overload

from shared import clock

from .definitions import VERSION as LATEST

TZ = clock.zone()
LADDER = ("N", "C", "B", "A", "H", "O", "delivered")
OPEN_LEVELS = ("N", "C", "B", "A", "H", "O")
#: base customers (基盘客户): every relationship class but a mere potential customer
BASE_CLASSES = ("intent", "self_sold", "other_sold", "vip", "other_brand", "defeated", "churned")
OWNER_CLASSES = ("self_sold", "other_sold", "vip")
CALLCENTER_CHANNELS = ("phone", "online")
VISIT_CHANNEL = {"walk_in": "showroom", "phone_in": "phone"}
FRT_CAP_MINUTES = 1440
PII = ("name", "phone", "customer_name", "summary", "note", "answers", "email")


@dataclass(frozen=True)
class Contribution:
    """One additive number for the rollups: on a local day, with its dimensions."""

    day: date
    metric: str
    key: str = ""
    value: int = 1
    consultant: str = ""
    model: str = ""
    source: str = ""
    channel: str = ""


@dataclass(frozen=True)
class Envelope:
    """The part of an event analytics works with (a plain value, so domain code needs no bus)."""

    id: str
    type: str
    occurred_at: datetime
    group_id: str | None
    store_id: str | None
    brand_id: str | None
    actor: str | None
    data: dict


def local_day(at: datetime) -> date:
    return at.astimezone(TZ).date()


def business_time(ev: Envelope) -> datetime:
    """When the fact happened in the business (`data.at`: a visit's time in, an order's signing), else when
    its event was emitted: a visit typed in the next morning counts on the day the customer came."""
    return parse_at(ev.data.get("at")) or ev.occurred_at


def fen(amount) -> int:
    """Money in integer fen (分), so that sums are exact whatever the order."""
    return int(round(float(amount or 0) * 100))


@overload
def parse_at(value: str | datetime) -> datetime: ...
@overload
def parse_at(value: None) -> None: ...
def parse_at(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def survey_family(task_type: str) -> str:
    """Which satisfaction a questionnaire measures: sales (delivery) or after-sales (service)."""
    t = task_type or ""
    if "service" in t or "maint" in t or "repair" in t or "rescue" in t:
        return "after_sales"
    if "deliver" in t or "sale" in t:
        return "sales"
    return "other"


# ---- routing -------------------------------------------------------------------------------------

def fact_id(ev: Envelope) -> str | None:
    """The entity an event belongs to (`kind:key`), or None for a stateless event."""
    t, d = ev.type, ev.data
    if t.startswith("leads.") and not t.startswith("leads.report.") and d.get("lead_id"):
        return f"lead:{d['lead_id']}"
    if t in ("leads.report.submitted", "leads.report.missed"):
        return f"report:{ev.store_id or ''}|{d.get('consultant_id') or ''}|{d['day']}"
    if t.startswith("callcenter.task."):
        return f"task:{d['task_id']}"
    if t.startswith("callcenter.complaint."):
        return f"complaint:{d['complaint_id']}"
    if t in ("customers.relationship.linked", "customers.relationship.changed"):
        return f"rel:{d['customer_id']}|{d['store_id']}"
    if t.startswith("customers.schedule."):
        return f"schedule:{t.rsplit('.', 1)[1]}|{d['schedule_id']}"
    return None


def summarize(ev: Envelope) -> dict:
    """What a fact keeps of one of its events (no personal data)."""
    data = {k: v for k, v in ev.data.items() if k not in PII}
    return {"t": ev.type, "at": business_time(ev).astimezone(UTC).isoformat(), "store": ev.store_id,
            "brand": ev.brand_id, "actor": ev.actor, "d": data}


def ordered(events: dict[str, dict]) -> list[dict]:
    """A fact's event summaries in time order (ties broken by event id)."""
    return [events[k] for k in sorted(events, key=lambda k: (events[k]["at"], k))]


# ---- stateless events ----------------------------------------------------------------------------

def event_contributions(ev: Envelope) -> list[Contribution]:
    """Contributions of an event that stands on its own (visits, attempts, surveys, DMS feeds)."""
    d, day = ev.data, local_day(business_time(ev))
    t = ev.type
    if t == "leads.visit.logged":
        kind = d.get("kind") or "walk_in"
        dims = {"consultant": d.get("consultant_id") or "", "model": d.get("model") or "",
                "source": d.get("source") or kind, "channel": VISIT_CHANNEL.get(kind, "showroom")}
        out = [Contribution(day, "visits", kind, 1, **dims),
               Contribution(day, "visitors", kind, int(d.get("party_size") or 1), **dims)]
        if d.get("first_visit", True):
            out.append(Contribution(day, "first_visits", kind, 1, **dims))
        return out
    if t == "callcenter.attempt.logged":
        return [Contribution(day, "call_attempts", d.get("outcome") or "", 1)]
    if t == "callcenter.survey.submitted":
        fam = survey_family(d.get("task_type", ""))
        score = int(round(float(d["score"]) * 100))  # in hundredths: sums stay exact
        out = [Contribution(day, "survey_n", fam), Contribution(day, "survey_score", fam, score)]
        if d.get("satisfaction"):
            out += [Contribution(day, "survey_sat_n", fam),
                    Contribution(day, "survey_sat", fam, int(d["satisfaction"]))]
        if d.get("low_score"):
            out.append(Contribution(day, "survey_low", fam))
        return out
    if t == "customers.service.recorded":
        day = d.get("visit_date") or day
        day = date.fromisoformat(day) if isinstance(day, str) else day
        out = [Contribution(day, "service_visits", d.get("kind") or ""),
               Contribution(day, "service_amount", "", fen(d.get("amount")))]
        if d.get("won_back"):
            out.append(Contribution(day, "churn_won_back"))
        return out
    if t == "customers.insurance.recorded":
        out = [Contribution(day, "insurance_policies"),
               Contribution(day, "insurance_premium", "", fen(d.get("premium")))]
        if d.get("won_back"):
            out.append(Contribution(day, "insurance_won_back"))
        return out
    if t == "customers.vehicle.registered":
        return [Contribution(day, "vehicles", "", 1, model=d.get("model") or "")]
    if t == "customers.customer.created":
        return [Contribution(day, "customers_created")]
    return []


def event_store(ev: Envelope) -> tuple[str, str]:
    """(store, brand) a stateless event counts for: the payload's store for DMS feeds, else the envelope's."""
    store = ev.data.get("store_id") if ev.type == "customers.service.recorded" else None
    return store or ev.store_id or "", ev.brand_id or ""


# ---- facts ---------------------------------------------------------------------------------------

@dataclass
class FactState:
    """What a fact derives to: its store, its contributions and the columns queries filter on."""

    store_id: str
    brand_id: str
    contributions: list[Contribution]
    columns: dict


def derive(fid: str, events: dict[str, dict], definitions: int = LATEST) -> FactState:
    """The state of one fact from the set of its event summaries, under a version of the KPI definitions
    (`definitions.VERSIONS`)."""
    kind = fid.split(":", 1)[0]
    evs = ordered(events)
    store = next((e["store"] for e in reversed(evs) if e.get("store")), "") or ""
    brand = next((e["brand"] for e in reversed(evs) if e.get("brand")), "") or ""
    fn = {"lead": _lead, "report": _report, "task": _task, "complaint": _complaint, "rel": _relationship,
          "schedule": _schedule}[kind]
    contributions, columns = _lead(evs, definitions) if kind == "lead" else fn(evs)
    if kind == "rel" and evs:
        store = evs[-1]["d"].get("store_id") or store
        brand = evs[-1]["d"].get("brand_id") or brand
    return FactState(store, brand, contributions, columns)


def _day(at: str) -> date:
    return local_day(parse_at(at))


def _lead(evs: list[dict], definitions: int = LATEST) -> tuple[list[Contribution], dict]:
    created = None
    consultant = source = model = channel = ""
    level, level_at = None, None
    reached: dict[str, str] = {}
    first_contact = None
    last_contact = None
    test_drives, orders, deliveries, cancelled = [], {}, {}, {}
    proposed = approved = None
    changed_after_proposal = False
    overdue_at = None  # leads owns the cadence: the latest due date it published for this lead
    for e in evs:
        t, d, at = e["t"], e["d"], e["at"]
        if d.get("consultant_id"):
            consultant = d["consultant_id"]
        if t == "leads.lead.created":
            created = e
            source, channel = d.get("source") or source, d.get("channel") or channel
            model = d.get("model") or model
            level, level_at = d.get("level") or "N", at
            reached.setdefault("N", at)
            reached.setdefault(level, at)
            last_contact = max(last_contact or at, at)
            overdue_at = d.get("overdue_at")
        elif t == "leads.lead.due_changed":
            overdue_at = d.get("overdue_at")
        elif t == "leads.lead.updated":
            ch = d.get("changes") or {}
            consultant = ch.get("consultant_id") or d.get("consultant_id") or consultant
            model = ch.get("model") or model
        elif t == "leads.lead.level_changed":
            level, level_at = d["to_level"], at
            reached.setdefault(d["to_level"], at)
            source = source or d.get("source") or ""
            if proposed and d["to_level"] != "defeated":
                changed_after_proposal = True
        elif t == "leads.followup.logged":
            last_contact = max(last_contact or at, at)
            if d.get("first_contact") and first_contact is None:
                first_contact = e
            source = source or d.get("source") or ""
        elif t == "leads.visit.logged":
            last_contact = max(last_contact or at, at)
        elif t == "leads.testdrive.completed":
            test_drives.append(e)
            model = model or d.get("model") or ""
        elif t == "leads.order.placed":
            orders[d["order_id"]] = e
            reached.setdefault("O", at)
            if level not in ("delivered", "defeated", "invalid"):
                level, level_at = "O", at
            model = model or d.get("model") or ""
            source = source or d.get("source") or ""
        elif t == "leads.order.cancelled":
            cancelled[d["order_id"]] = e
        elif t == "leads.vehicle.delivered":
            deliveries[d["order_id"]] = e
            reached.setdefault("delivered", at)
            level, level_at = "delivered", at
        elif t == "leads.defeat.proposed":
            proposed, changed_after_proposal = e, False
        elif t in ("leads.defeat.sent_back", "leads.defeat.withdrawn"):
            if proposed is not None and proposed["d"].get("defeat_id") in (None, d.get("defeat_id")):
                proposed = None  # the manager sent it back, or an order withdrew it: no longer awaiting
        elif t == "leads.defeat.approved":
            approved = e
            level, level_at = "defeated", at
    if created is None:  # the lead's creation has not arrived (yet): count what is known, under its hints
        source = source or ""
    dims = {"consultant": consultant, "model": model, "source": source, "channel": channel}
    out: list[Contribution] = []
    if created is not None:
        out.append(Contribution(_day(created["at"]), "leads", "", 1, **dims))
    # funnel: a lead counts at every level up to the highest it reached, on the first day it got there
    ranks = {lv: i for i, lv in enumerate(LADDER)}
    for lv in LADDER:
        times = [at for got, at in reached.items() if got in ranks and ranks[got] >= ranks[lv]]
        if times and (created is not None or lv != "N"):
            out.append(Contribution(_day(min(times)), "funnel", lv, 1, **dims))
    if first_contact is not None and first_contact["d"].get("response_seconds") is not None:
        fc = first_contact["d"]
        secs = int(fc["response_seconds"])
        fdims = {**dims, "consultant": fc.get("consultant_id") or consultant}
        day = _day(first_contact["at"])
        out += [Contribution(day, "frt_n", "", 1, **fdims), Contribution(day, "frt_sec", "", secs, **fdims),
                Contribution(day, "frt_min", str(min(secs // 60, FRT_CAP_MINUTES)), 1, **fdims)]
        if fc.get("within_sla"):
            out.append(Contribution(day, "frt_sla", "", 1, **fdims))
    for td in test_drives:
        out.append(Contribution(_day(td["at"]), "test_drives", "", 1, **{
            **dims, "consultant": td["d"].get("consultant_id") or consultant, "model": td["d"].get("model") or model}))
    expected_delivery = None
    if definitions < 2:  # v1: a cancellation changes no figure, the order stays counted on its signing day
        cancelled = {}
    for c in cancelled.values():
        cd = c["d"]
        out.append(Contribution(_day(c["at"]), "orders_cancelled", "", 1, **{
            **dims, "consultant": cd.get("consultant_id") or consultant, "model": cd.get("model") or model}))
    for oid, o in orders.items():
        if oid in cancelled:  # a cancelled order is no order: taken out of its signing day too
            continue
        od = o["d"]
        odims = {**dims, "consultant": od.get("consultant_id") or consultant, "model": od.get("model") or model}
        day = _day(o["at"])
        out += [Contribution(day, "orders", "", 1, **odims),
                Contribution(day, "order_amount", "", fen(od.get("price")), **odims),
                Contribution(day, "orders_kind", od.get("customer_kind") or "individual", 1, **odims),
                Contribution(day, "orders_sale_type", od.get("sale_type") or "retail", 1, **odims)]
        if oid not in deliveries and od.get("expected_delivery"):
            expected_delivery = max(expected_delivery or od["expected_delivery"], od["expected_delivery"])
    for dv in deliveries.values():
        dd = dv["d"]
        ddims = {**dims, "consultant": dd.get("consultant_id") or consultant, "model": dd.get("model") or model}
        day = date.fromisoformat(dd["delivered_on"]) if dd.get("delivered_on") else _day(dv["at"])
        out += [Contribution(day, "deliveries", "", 1, **ddims),
                Contribution(day, "delivery_amount", "", fen(dd.get("price")), **ddims),
                Contribution(day, "deliveries_kind", dd.get("customer_kind") or "individual", 1, **ddims),
                Contribution(day, "deliveries_sale_type", dd.get("sale_type") or "retail", 1, **ddims)]
    if approved is not None:
        ad = approved["d"]
        adims = {**dims, "consultant": ad.get("consultant_id") or consultant}
        day = _day(approved["at"])
        out.append(Contribution(day, "defeats", ad.get("reason") or "other", 1, **adims))
        if ad.get("competitor_brand"):
            comp = "/".join(x for x in (ad["competitor_brand"], ad.get("competitor_model")) if x)
            out.append(Contribution(day, "defeats_competitor", comp, 1, **adims))
    # events from before leads published a sent-back defeat (no defeat_id) fall back on "the lead moved on"
    pending = proposed is not None and approved is None and not (
        changed_after_proposal and not proposed["d"].get("defeat_id"))
    if pending and proposed is not None:
        out.append(Contribution(_day(proposed["at"]), "defeat_pending", "", 1, **dims))
    columns = {"consultant_id": consultant or None, "level": level if created is not None or level else None,
               "last_contact_at": parse_at(last_contact), "level_at": parse_at(level_at),
               "expected_delivery": date.fromisoformat(expected_delivery) if expected_delivery else None,
               "due_at": parse_at(overdue_at) if level in OPEN_LEVELS else None,
               "is_open": bool(level in OPEN_LEVELS), "pending": pending}
    return out, columns


def _report(evs: list[dict]) -> tuple[list[Contribution], dict]:
    submitted = [e for e in evs if e["t"] == "leads.report.submitted"]
    originals = [e for e in submitted if not e["d"].get("amendment")]
    if not originals:  # leads said the report was not in by its deadline (and none came in since)
        missed = next((e for e in evs if e["t"] == "leads.report.missed"), None)
        if missed is None:
            return [], _no_columns()
        md = missed["d"]
        day = date.fromisoformat(md["day"]) if isinstance(md["day"], str) else md["day"]
        return [Contribution(day, "reports_missed", "", 1, consultant=md["consultant_id"])], \
            {**_no_columns(), "consultant_id": md["consultant_id"]}
    first = originals[0]
    figures = dict(first["d"].get("figures") or {})
    for e in submitted:
        if e["d"].get("amendment") and e["at"] >= first["at"]:
            figures.update(e["d"].get("figures") or {})
    d = first["d"]
    day = date.fromisoformat(d["day"]) if isinstance(d["day"], str) else d["day"]
    consultant = d.get("consultant_id") or ""
    metric = "tact" if consultant else "tact_store"
    out = [Contribution(day, metric, k, int(v), consultant=consultant) for k, v in sorted(figures.items()) if v]
    out.append(Contribution(day, "reports" if consultant else "store_reports", "", 1, consultant=consultant))
    if d.get("late"):
        out.append(Contribution(day, "reports_late" if consultant else "store_reports_late", "", 1,
                                consultant=consultant))
    return out, {**_no_columns(), "consultant_id": consultant or None}


def _task(evs: list[dict]) -> tuple[list[Contribution], dict]:
    created = next((e for e in evs if e["t"] == "callcenter.task.created"), None)
    closed = next((e for e in evs if e["t"] in ("callcenter.task.completed", "callcenter.task.failed")), None)
    ttype = (created or closed or evs[0])["d"].get("task_type", "")
    out = []
    if created is not None:
        out.append(Contribution(_day(created["at"]), "callbacks_created", ttype))
    if closed is not None:
        day = _day(closed["at"])
        out.append(Contribution(day, "callbacks_closed", ttype))
        if closed["t"] == "callcenter.task.completed" and (closed["d"].get("outcome") or "reached") == "reached":
            out.append(Contribution(day, "callbacks_reached", ttype))
        if created is not None and created["d"].get("due_at") and \
                parse_at(closed["at"]) > parse_at(created["d"]["due_at"]):
            out.append(Contribution(day, "callbacks_late", ttype))
    due = parse_at(created["d"].get("due_at")) if created else None
    return out, {**_no_columns(), "due_at": due, "is_open": created is not None and closed is None}


def _complaint(evs: list[dict]) -> tuple[list[Contribution], dict]:
    opened = next((e for e in evs if e["t"] == "callcenter.complaint.opened"), None)
    # resolved unless the latest word on it is a reopening (the customer did not accept the resolution)
    verdicts = [e for e in evs if e["t"] in ("callcenter.complaint.resolved", "callcenter.complaint.reopened")]
    resolved = verdicts[-1] if verdicts and verdicts[-1]["t"] == "callcenter.complaint.resolved" else None
    out = []
    if opened is not None:
        day, sev = _day(opened["at"]), opened["d"].get("severity") or ""
        out.append(Contribution(day, "complaints", sev))
        if resolved is not None:  # counted in the month the complaint was opened (a cohort rate)
            out.append(Contribution(day, "complaints_resolved", sev))
            if resolved["d"].get("within_sla"):
                out.append(Contribution(day, "complaints_resolved_sla", sev))
    due = parse_at(opened["d"].get("due_at")) if opened else None
    return out, {**_no_columns(), "due_at": due, "is_open": opened is not None and resolved is None}


def _relationship(evs: list[dict]) -> tuple[list[Contribution], dict]:
    out: list[Contribution] = []
    linked = next((e for e in evs if e["t"] == "customers.relationship.linked"), None)
    if linked is not None:
        origin = "own" if linked["d"].get("new_customer") else "other"
        out.append(Contribution(_day(linked["at"]), "customers_new", origin))
    prev = None
    for e in evs:
        cls = e["d"].get("customer_class") if e["t"] == "customers.relationship.linked" else e["d"].get("to_class")
        if not cls or cls == prev:
            continue
        day = _day(e["at"])
        for metric, members in (("base", BASE_CLASSES), ("owners", OWNER_CLASSES)):
            was, now = prev in members, cls in members
            if was != now:
                out.append(Contribution(day, metric, "", 1 if now else -1))
        if cls == "churned":
            out.append(Contribution(day, "churned"))
        if prev == "churned" and cls in OWNER_CLASSES:
            out.append(Contribution(day, "churn_recovered"))
        if cls == "self_sold" and prev not in OWNER_CLASSES:
            out.append(Contribution(day, "new_owners"))
        prev = cls
    return out, _no_columns()


def _schedule(evs: list[dict]) -> tuple[list[Contribution], dict]:
    e = evs[-1]
    kind = e["t"].rsplit(".", 1)[1]
    due = e["d"].get("due_on")
    day = date.fromisoformat(due) if isinstance(due, str) else due or _day(e["at"])
    return [Contribution(day, f"care_{kind}")], _no_columns()


def _no_columns() -> dict:
    return {"consultant_id": None, "level": None, "last_contact_at": None, "level_at": None,
            "expected_delivery": None, "due_at": None, "is_open": False, "pending": False}


def net(old: Iterable[Contribution], new: Iterable[Contribution]) -> dict[Contribution, int]:
    """new − old, keyed by the contribution without its value; zero entries dropped."""
    out: dict[Contribution, int] = {}
    for sign, items in ((-1, old), (1, new)):
        for c in items:
            k = Contribution(c.day, c.metric, c.key, 0, c.consultant, c.model, c.source, c.channel)
            out[k] = out.get(k, 0) + sign * c.value
    return {k: v for k, v in out.items() if v}
