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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
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


@dataclass
class _LeadFold:
    """What a lead's events say, folded in time order: who, where it got to and when, its orders."""

    created: dict | None = None
    consultant: str = ""
    source: str = ""
    model: str = ""
    channel: str = ""
    level: str | None = None
    level_at: str | None = None
    reached: dict[str, str] = field(default_factory=dict)  # level → when the lead first got there
    first_contact: dict | None = None
    last_contact: str | None = None
    test_drives: list[dict] = field(default_factory=list)
    orders: dict[str, dict] = field(default_factory=dict)
    cancelled: dict[str, dict] = field(default_factory=dict)
    deliveries: dict[str, dict] = field(default_factory=dict)
    proposed: dict | None = None
    approved: dict | None = None
    changed_after_proposal: bool = False
    overdue_at: str | None = None  # leads owns the cadence: the latest due date it published for this lead

    def contacted(self, at: str) -> None:
        self.last_contact = max(self.last_contact or at, at)

    def moved_to(self, level: str, at: str) -> None:
        self.level, self.level_at = level, at
        self.reached.setdefault(level, at)

    def dims(self) -> dict:
        return {"consultant": self.consultant, "model": self.model, "source": self.source, "channel": self.channel}


def _created(f: _LeadFold, e: dict, d: dict) -> None:
    f.created = e
    f.source, f.channel = d.get("source") or f.source, d.get("channel") or f.channel
    f.model = d.get("model") or f.model
    f.reached.setdefault("N", e["at"])
    f.moved_to(d.get("level") or "N", e["at"])
    f.contacted(e["at"])
    f.overdue_at = d.get("overdue_at")


def _due_changed(f: _LeadFold, e: dict, d: dict) -> None:
    f.overdue_at = d.get("overdue_at")


def _updated(f: _LeadFold, e: dict, d: dict) -> None:
    ch = d.get("changes") or {}
    f.consultant = ch.get("consultant_id") or d.get("consultant_id") or f.consultant
    f.model = ch.get("model") or f.model


def _level_changed(f: _LeadFold, e: dict, d: dict) -> None:
    f.moved_to(d["to_level"], e["at"])
    f.source = f.source or d.get("source") or ""
    if f.proposed and d["to_level"] != "defeated":
        f.changed_after_proposal = True


def _followed_up(f: _LeadFold, e: dict, d: dict) -> None:
    f.contacted(e["at"])
    if d.get("first_contact") and f.first_contact is None:
        f.first_contact = e
    f.source = f.source or d.get("source") or ""


def _visited(f: _LeadFold, e: dict, d: dict) -> None:
    f.contacted(e["at"])


def _test_driven(f: _LeadFold, e: dict, d: dict) -> None:
    f.test_drives.append(e)
    f.model = f.model or d.get("model") or ""


def _ordered(f: _LeadFold, e: dict, d: dict) -> None:
    f.orders[d["order_id"]] = e
    f.reached.setdefault("O", e["at"])
    if f.level not in ("delivered", "defeated", "invalid"):
        f.level, f.level_at = "O", e["at"]
    f.model = f.model or d.get("model") or ""
    f.source = f.source or d.get("source") or ""


def _order_cancelled(f: _LeadFold, e: dict, d: dict) -> None:
    f.cancelled[d["order_id"]] = e


def _delivered(f: _LeadFold, e: dict, d: dict) -> None:
    f.deliveries[d["order_id"]] = e
    f.moved_to("delivered", e["at"])


def _defeat_proposed(f: _LeadFold, e: dict, d: dict) -> None:
    f.proposed, f.changed_after_proposal = e, False


def _defeat_undone(f: _LeadFold, e: dict, d: dict) -> None:
    if f.proposed is not None and f.proposed["d"].get("defeat_id") in (None, d.get("defeat_id")):
        f.proposed = None  # the manager sent it back, or an order withdrew it: no longer awaiting


def _defeat_approved(f: _LeadFold, e: dict, d: dict) -> None:
    f.approved = e
    f.level, f.level_at = "defeated", e["at"]


_LEAD_STEPS: dict[str, Callable[[_LeadFold, dict, dict], None]] = {
    "leads.lead.created": _created, "leads.lead.due_changed": _due_changed, "leads.lead.updated": _updated,
    "leads.lead.level_changed": _level_changed, "leads.followup.logged": _followed_up,
    "leads.visit.logged": _visited, "leads.testdrive.completed": _test_driven, "leads.order.placed": _ordered,
    "leads.order.cancelled": _order_cancelled, "leads.vehicle.delivered": _delivered,
    "leads.defeat.proposed": _defeat_proposed, "leads.defeat.sent_back": _defeat_undone,
    "leads.defeat.withdrawn": _defeat_undone, "leads.defeat.approved": _defeat_approved,
}


def _lead(evs: list[dict], definitions: int = LATEST) -> tuple[list[Contribution], dict]:
    f = _LeadFold()
    for e in evs:
        d = e["d"]
        if d.get("consultant_id"):
            f.consultant = d["consultant_id"]
        step = _LEAD_STEPS.get(e["t"])
        if step is not None:
            step(f, e, d)
    dims = f.dims()
    out: list[Contribution] = []
    if f.created is not None:
        out.append(Contribution(_day(f.created["at"]), "leads", "", 1, **dims))
    out += _funnel(f, dims)
    out += _first_response(f.first_contact, dims)
    for td in f.test_drives:
        out.append(Contribution(_day(td["at"]), "test_drives", "", 1, **{
            **dims, "consultant": td["d"].get("consultant_id") or f.consultant, "model": td["d"].get("model") or f.model}))
    # v1: a cancellation changes no figure, the order stays counted on its signing day
    cancelled = f.cancelled if definitions >= 2 else {}
    for c in cancelled.values():
        out.append(Contribution(_day(c["at"]), "orders_cancelled", "", 1, **_dims_of(c, dims)))
    signed, expected_delivery = _orders(f, cancelled, dims)
    out += signed + _deliveries(f, dims) + _defeat(f.approved, dims)
    # events from before leads published a sent-back defeat (no defeat_id) fall back on "the lead moved on"
    pending = f.proposed is not None and f.approved is None and not (
        f.changed_after_proposal and not f.proposed["d"].get("defeat_id"))
    if pending and f.proposed is not None:
        out.append(Contribution(_day(f.proposed["at"]), "defeat_pending", "", 1, **dims))
    level = f.level
    columns = {"consultant_id": f.consultant or None, "level": level if f.created is not None or level else None,
               "last_contact_at": parse_at(f.last_contact), "level_at": parse_at(f.level_at),
               "expected_delivery": date.fromisoformat(expected_delivery) if expected_delivery else None,
               "due_at": parse_at(f.overdue_at) if level in OPEN_LEVELS else None,
               "is_open": bool(level in OPEN_LEVELS), "pending": pending}
    return out, columns


def _dims_of(e: dict, dims: dict) -> dict:
    """The lead's dimensions, with the consultant and model the event itself names."""
    return {**dims, "consultant": e["d"].get("consultant_id") or dims["consultant"],
            "model": e["d"].get("model") or dims["model"]}


def _funnel(f: _LeadFold, dims: dict) -> list[Contribution]:
    """A lead counts at every level up to the highest it reached, on the first day it got there."""
    out = []
    ranks = {lv: i for i, lv in enumerate(LADDER)}
    for lv in LADDER:
        times = [at for got, at in f.reached.items() if got in ranks and ranks[got] >= ranks[lv]]
        if times and (f.created is not None or lv != "N"):
            out.append(Contribution(_day(min(times)), "funnel", lv, 1, **dims))
    return out


def _first_response(first_contact: dict | None, dims: dict) -> list[Contribution]:
    if first_contact is None or first_contact["d"].get("response_seconds") is None:
        return []
    fc = first_contact["d"]
    secs = int(fc["response_seconds"])
    fdims = {**dims, "consultant": fc.get("consultant_id") or dims["consultant"]}
    day = _day(first_contact["at"])
    out = [Contribution(day, "frt_n", "", 1, **fdims), Contribution(day, "frt_sec", "", secs, **fdims),
           Contribution(day, "frt_min", str(min(secs // 60, FRT_CAP_MINUTES)), 1, **fdims)]
    if fc.get("within_sla"):
        out.append(Contribution(day, "frt_sla", "", 1, **fdims))
    return out


def _orders(f: _LeadFold, cancelled: dict, dims: dict) -> tuple[list[Contribution], str | None]:
    """The signed orders still standing, on their signing day; and the latest delivery still expected."""
    out: list[Contribution] = []
    expected_delivery = None
    for oid, o in f.orders.items():
        if oid in cancelled:  # a cancelled order is no order: taken out of its signing day too
            continue
        od, odims, day = o["d"], _dims_of(o, dims), _day(o["at"])
        out += [Contribution(day, "orders", "", 1, **odims),
                Contribution(day, "order_amount", "", fen(od.get("price")), **odims),
                Contribution(day, "orders_kind", od.get("customer_kind") or "individual", 1, **odims),
                Contribution(day, "orders_sale_type", od.get("sale_type") or "retail", 1, **odims)]
        if oid not in f.deliveries and od.get("expected_delivery"):
            expected_delivery = max(expected_delivery or od["expected_delivery"], od["expected_delivery"])
    return out, expected_delivery


def _deliveries(f: _LeadFold, dims: dict) -> list[Contribution]:
    out: list[Contribution] = []
    for dv in f.deliveries.values():
        dd, ddims = dv["d"], _dims_of(dv, dims)
        day = date.fromisoformat(dd["delivered_on"]) if dd.get("delivered_on") else _day(dv["at"])
        out += [Contribution(day, "deliveries", "", 1, **ddims),
                Contribution(day, "delivery_amount", "", fen(dd.get("price")), **ddims),
                Contribution(day, "deliveries_kind", dd.get("customer_kind") or "individual", 1, **ddims),
                Contribution(day, "deliveries_sale_type", dd.get("sale_type") or "retail", 1, **ddims)]
    return out


def _defeat(approved: dict | None, dims: dict) -> list[Contribution]:
    if approved is None:
        return []
    ad = approved["d"]
    adims = {**dims, "consultant": ad.get("consultant_id") or dims["consultant"]}
    day = _day(approved["at"])
    out = [Contribution(day, "defeats", ad.get("reason") or "other", 1, **adims)]
    if ad.get("competitor_brand"):
        comp = "/".join(x for x in (ad["competitor_brand"], ad.get("competitor_model")) if x)
        out.append(Contribution(day, "defeats_competitor", comp, 1, **adims))
    return out


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
