"""What identity learns from the other services: the work that waits for its users (the to-do inbox).

Which event opens or closes which item is listed in README ("To-do inbox and notifications").
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.events import Event

from ..handlers.todo import CALLBACK_LEAD_TIME, Todo, lead_link

#: a delivery waits up to 200 ms for more events: a to-do item a fifth of a second later is not noticed, and
#: at 10 leads/s it makes about one transaction for every two or three leads instead of one per lead
handlers = EventHandlers("identity", gather=0.2)
#: event type -> its rule, `rule(todo, event)`; all of them run as one batch handler (`apply_delivery`)
RULES: dict[str, Callable[[Todo, Event], None]] = {}


def on(event_type: str):
    def deco(fn: Callable[[Todo, Event], None]) -> Callable[[Todo, Event], None]:
        RULES[event_type] = fn
        return fn

    return deco

LEAD_WORK = ("lead_new", "lead_reassigned", "lead_due", "lead_unassigned", "defeat_sent_back")
TERMINAL = ("delivered", "defeated", "invalid")


def _day(v) -> date | None:
    return date.fromisoformat(v) if isinstance(v, str) else v


def _instant(v) -> datetime | None:
    return datetime.fromisoformat(v) if isinstance(v, str) else v


def _iso(v) -> str | None:
    return v.isoformat() if isinstance(v, date | datetime) else v


def _due(t: Todo, ev: Event) -> None:
    """A lead's next contact: an item for its consultant from the due day on; none when nothing is due."""
    d = ev.data
    lead_id, consultant, due_on = d["lead_id"], d.get("consultant_id"), _day(d.get("due_on"))
    t.close(lead_id, ("lead_due",), but_user=consultant)
    if due_on is None or consultant is None:
        t.close(lead_id, ("lead_due",))
        return
    t.open(consultant, "lead_due", lead_id, lead_link(lead_id),
           {"due_on": _iso(due_on), "overdue_at": _iso(d.get("overdue_at")), "name": d.get("name")},
           store_id=ev.store_id, show_from=t.day_start(ev.store_id, due_on))


@on("leads.lead.created")
def lead_created(t: Todo, ev: Event) -> None:
    d = ev.data
    if d.get("consultant_id"):
        t.open(d["consultant_id"], "lead_new", d["lead_id"], lead_link(d["lead_id"]),
               {"name": d.get("name"), "source": d.get("source")}, store_id=ev.store_id)
        _due(t, ev)
    else:
        for m in t.managers_of(ev.store_id):
            t.open(m, "lead_unassigned", d["lead_id"], lead_link(d["lead_id"]),
                   {"name": d.get("name"), "source": d.get("source")}, store_id=ev.store_id)


@on("leads.lead.due_changed")
def lead_due_changed(t: Todo, ev: Event) -> None:
    _due(t, ev)


@on("leads.lead.updated")
def lead_updated(t: Todo, ev: Event) -> None:
    """A lead given to another consultant: the new one is told, the old one's items of it go."""
    d = ev.data
    if "consultant_id" not in (d.get("changes") or {}):
        return
    new = d["changes"]["consultant_id"]
    t.close(d["lead_id"], LEAD_WORK, but_user=new)
    if new:
        t.close(d["lead_id"], ("lead_unassigned",))
        t.open(new, "lead_reassigned", d["lead_id"], lead_link(d["lead_id"]),
               {"name": d["changes"].get("name")}, store_id=ev.store_id)


@on("leads.followup.logged")
def followup_logged(t: Todo, ev: Event) -> None:
    """A contact made: the lead is no longer new; a first contact later than the SLA tells the managers."""
    d = ev.data
    t.close(d["lead_id"], ("lead_new", "lead_reassigned", "lead_unassigned"))
    if d.get("first_contact") and d.get("within_sla") is False:
        for m in t.managers_of(ev.store_id):
            t.open(m, "first_response_breach", d["lead_id"], lead_link(d["lead_id"]),
                   {"response_seconds": d.get("response_seconds"), "consultant_id": d.get("consultant_id")},
                   store_id=ev.store_id)


@on("leads.lead.level_changed")
def level_changed(t: Todo, ev: Event) -> None:
    if ev.data["to_level"] in TERMINAL:
        t.close(ev.data["lead_id"], LEAD_WORK)


@on("leads.defeat.proposed")
def defeat_proposed(t: Todo, ev: Event) -> None:
    d = ev.data
    t.close(d["lead_id"], ("defeat_sent_back",))
    for m in t.managers_of(ev.store_id):
        t.open(m, "defeat_decide", d["lead_id"], "/leads/defeats",
               {"reason": d.get("reason"), "consultant_id": d.get("consultant_id")}, store_id=ev.store_id)


@on("leads.defeat.withdrawn")
@on("leads.defeat.approved")
@on("leads.defeat.sent_back")
def defeat_decided(t: Todo, ev: Event) -> None:
    """The manager's item goes; the consultant is told an approval, or a sending back with the note."""
    d = ev.data
    t.close(d["lead_id"], ("defeat_decide",))
    if ev.type == "leads.defeat.withdrawn":
        return
    sent_back = ev.type == "leads.defeat.sent_back"
    t.open(d.get("consultant_id"), "defeat_sent_back" if sent_back else "defeat_approved",
           d["lead_id"], lead_link(d["lead_id"]),
           {"reason": d.get("reason"), "note": d.get("note") if sent_back else None, "name": d.get("customer_name")},
           store_id=ev.store_id)


def _report_day(consultant_id: str, day: object) -> str:
    """The reference of a consultant's report day (a missed report has no record of its own yet)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"crm:report/{consultant_id}/{_iso(day)}"))


@on("leads.report.missed")
def report_missed(t: Todo, ev: Event) -> None:
    """A consultant's report was not in by its deadline: the store's managers are told (leads' rule)."""
    d = ev.data
    for m in t.managers_of(ev.store_id):
        t.open(m, "report_missing", _report_day(d["consultant_id"], d["day"]), "/leads/reports",
               {"day": _iso(d.get("day")), "consultant_id": d["consultant_id"]}, store_id=ev.store_id)
    t.compliance_alert(ev.store_id, _iso(d.get("day")), d["consultant_id"],
                       _report_day(f"store:{ev.store_id}", d["day"]))


@on("leads.report.submitted")
def report_submitted(t: Todo, ev: Event) -> None:
    """A consultant's daily report submitted after its deadline (an approved amendment is no news); it
    closes the managers' "missing" item of that day."""
    d = ev.data
    if d.get("amendment") or not d.get("late") or d.get("consultant_id") is None:
        return
    t.close(_report_day(d["consultant_id"], d.get("day")), ("report_missing",))
    for m in t.managers_of(ev.store_id):
        t.open(m, "report_late", d["report_id"], "/leads/reports",
               {"day": _iso(d.get("day")), "consultant_id": d.get("consultant_id")}, store_id=ev.store_id)


@on("leads.report.amendment_requested")
def amendment_requested(t: Todo, ev: Event) -> None:
    d = ev.data
    for m in t.managers_of(ev.store_id):
        t.open(m, "report_amendment", d["amendment_id"], "/leads/reports",
               {"day": _iso(d.get("day")), "reason": d.get("reason")}, store_id=ev.store_id)


@on("leads.report.amendment_decided")
def amendment_decided(t: Todo, ev: Event) -> None:
    """The manager decided: their item goes, the consultant is told the answer (with the note)."""
    d = ev.data
    t.close(d["amendment_id"], ("report_amendment",))
    t.open(d.get("consultant_id"), "amendment_decided", d["amendment_id"], "/leads/reports",
           {"day": _iso(d.get("day")), "approved": d["approved"], "note": d.get("note")}, store_id=ev.store_id)


def _complaint_link(cid: str) -> str:
    return f"/callcenter/complaints/{cid}"


def _complaint_open(t: Todo, ev: Event, data: dict, due_at: datetime | None) -> None:
    cid = ev.data["complaint_id"]
    owners = [ev.data["assignee_id"]] if ev.data.get("assignee_id") else t.managers_of(ev.store_id)
    for m in owners:
        t.open(m, "complaint", cid, _complaint_link(cid), data, store_id=ev.store_id)
    if due_at is not None:  # shown to the overseers once the SLA is missed
        for u in t.overseers():
            t.open(u, "complaint_sla", cid, _complaint_link(cid), data, store_id=ev.store_id,
                   show_from=due_at)


@on("callcenter.complaint.opened")
def complaint_opened(t: Todo, ev: Event) -> None:
    d = ev.data
    due_at = _instant(d.get("due_at"))
    _complaint_open(t, ev, {"severity": d["severity"], "summary": (d.get("summary") or "")[:200],
                            "name": d.get("customer_name"), "due_at": _iso(due_at)}, due_at)


@on("callcenter.complaint.reopened")
def complaint_reopened(t: Todo, ev: Event) -> None:
    d = ev.data
    _complaint_open(t, ev, {"severity": d["severity"], "summary": (d.get("note") or "")[:200]}, None)


@on("callcenter.complaint.resolved")
def complaint_resolved(t: Todo, ev: Event) -> None:
    t.close(ev.data["complaint_id"], ("complaint", "complaint_sla"))


@on("callcenter.attempt.logged")
def attempt_logged(t: Todo, ev: Event) -> None:
    """A call-back promised to the customer: the agent's item from a little before the promised time."""
    d = ev.data
    t.close(d["task_id"], ("callback_due",))
    at = _instant(d.get("callback_at"))
    if d["outcome"] == "call_back" and at is not None:
        t.open(d.get("agent_id"), "callback_due", d["task_id"], "/callcenter/workbench",
               {"callback_at": _iso(at), "task_type": d.get("task_type")}, store_id=ev.store_id,
               show_from=at - CALLBACK_LEAD_TIME)


@on("callcenter.task.completed")
@on("callcenter.task.failed")
def task_closed(t: Todo, ev: Event) -> None:
    t.close(ev.data["task_id"], ("callback_due",))




#: the event fields that name the record of an item (`Todo`'s prefetch) and the user it is for
_REF_FIELDS = ("lead_id", "complaint_id", "task_id", "amendment_id", "report_id")
_USER_FIELDS = ("consultant_id", "assignee_id", "agent_id")


def _prefetch(ev: Event, refs: set[str], users: set[str]) -> None:
    d = ev.data
    refs.update(d[k] for k in _REF_FIELDS if isinstance(d.get(k), str))
    users.update(d[k] for k in _USER_FIELDS if isinstance(d.get(k), str))
    new = (d.get("changes") or {}).get("consultant_id") if isinstance(d.get("changes"), dict) else None
    if isinstance(new, str):
        users.add(new)
    if ev.type.startswith("leads.report.") and isinstance(d.get("consultant_id"), str):
        refs.update((_report_day(d["consultant_id"], d.get("day")), _report_day(f"store:{ev.store_id}", d.get("day"))))


def apply_delivery(s: Session, events: list[Event]) -> None:
    """A delivery's events (one group's, in order) in one set-based pass: what every rule reads fetched
    once, the rules applied in memory in order, the outcome written in a few statements (`Todo`)."""
    refs: set[str] = set()
    users: set[str] = set()
    for ev in events:
        _prefetch(ev, refs, users)
    todo = Todo(s, events[0].group_id, refs, users, {ev.store_id for ev in events if ev.store_id})
    for ev in events:
        RULES[ev.type](todo, ev)
    todo.write()


for _type in RULES:
    handlers.on_batch(_type)(apply_delivery)
