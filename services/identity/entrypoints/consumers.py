"""What identity learns from the other services: the work that waits for its users (the to-do inbox).

Which event opens or closes which item is listed in README ("To-do inbox and notifications").
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.events import Event

from ..handlers.todo import (
    CALLBACK_LEAD_TIME,
    close_items,
    compliance_alert,
    day_start,
    lead_link,
    managers_of,
    open_item,
    overseers,
)

handlers = EventHandlers("identity")
LEAD_WORK = ("lead_new", "lead_reassigned", "lead_due", "lead_unassigned", "defeat_sent_back")
TERMINAL = ("delivered", "defeated", "invalid")


def _day(v) -> date | None:
    return date.fromisoformat(v) if isinstance(v, str) else v


def _instant(v) -> datetime | None:
    return datetime.fromisoformat(v) if isinstance(v, str) else v


def _iso(v) -> str | None:
    return v.isoformat() if isinstance(v, date | datetime) else v


def _due(s: Session, ev: Event) -> None:
    """A lead's next contact: an item for its consultant from the due day on; none when nothing is due."""
    d = ev.data
    lead_id, consultant, due_on = d["lead_id"], d.get("consultant_id"), _day(d.get("due_on"))
    close_items(s, lead_id, ("lead_due",), but_user=consultant)
    if due_on is None or consultant is None:
        close_items(s, lead_id, ("lead_due",))
        return
    open_item(s, ev.group_id, consultant, "lead_due", lead_id, lead_link(lead_id),
              {"due_on": _iso(due_on), "overdue_at": _iso(d.get("overdue_at")), "name": d.get("name")},
              store_id=ev.store_id, show_from=day_start(s, ev.store_id, ev.group_id, due_on))


@handlers.on("leads.lead.created")
def lead_created(s: Session, ev: Event) -> None:
    d = ev.data
    if d.get("consultant_id"):
        open_item(s, ev.group_id, d["consultant_id"], "lead_new", d["lead_id"], lead_link(d["lead_id"]),
                  {"name": d.get("name"), "source": d.get("source")}, store_id=ev.store_id)
        _due(s, ev)
    else:
        for m in managers_of(s, ev.store_id):
            open_item(s, ev.group_id, m, "lead_unassigned", d["lead_id"], lead_link(d["lead_id"]),
                      {"name": d.get("name"), "source": d.get("source")}, store_id=ev.store_id)


@handlers.on("leads.lead.due_changed")
def lead_due_changed(s: Session, ev: Event) -> None:
    _due(s, ev)


@handlers.on("leads.lead.updated")
def lead_updated(s: Session, ev: Event) -> None:
    """A lead given to another consultant: the new one is told, the old one's items of it go."""
    d = ev.data
    if "consultant_id" not in (d.get("changes") or {}):
        return
    new = d["changes"]["consultant_id"]
    close_items(s, d["lead_id"], LEAD_WORK, but_user=new)
    if new:
        close_items(s, d["lead_id"], ("lead_unassigned",))
        open_item(s, ev.group_id, new, "lead_reassigned", d["lead_id"], lead_link(d["lead_id"]),
                  {"name": d["changes"].get("name")}, store_id=ev.store_id)


@handlers.on("leads.followup.logged")
def followup_logged(s: Session, ev: Event) -> None:
    """A contact made: the lead is no longer new; a first contact later than the SLA tells the managers."""
    d = ev.data
    close_items(s, d["lead_id"], ("lead_new", "lead_reassigned", "lead_unassigned"))
    if d.get("first_contact") and d.get("within_sla") is False:
        for m in managers_of(s, ev.store_id):
            open_item(s, ev.group_id, m, "first_response_breach", d["lead_id"], lead_link(d["lead_id"]),
                      {"response_seconds": d.get("response_seconds"), "consultant_id": d.get("consultant_id")},
                      store_id=ev.store_id)


@handlers.on("leads.lead.level_changed")
def level_changed(s: Session, ev: Event) -> None:
    if ev.data["to_level"] in TERMINAL:
        close_items(s, ev.data["lead_id"], LEAD_WORK)


@handlers.on("leads.defeat.proposed")
def defeat_proposed(s: Session, ev: Event) -> None:
    d = ev.data
    close_items(s, d["lead_id"], ("defeat_sent_back",))
    for m in managers_of(s, ev.store_id):
        open_item(s, ev.group_id, m, "defeat_decide", d["lead_id"], "/leads/defeats",
                  {"reason": d.get("reason"), "consultant_id": d.get("consultant_id")}, store_id=ev.store_id)


@handlers.on("leads.defeat.withdrawn")
@handlers.on("leads.defeat.approved")
@handlers.on("leads.defeat.sent_back")
def defeat_decided(s: Session, ev: Event) -> None:
    """The manager's item goes; the consultant is told an approval, or a sending back with the note."""
    d = ev.data
    close_items(s, d["lead_id"], ("defeat_decide",))
    if ev.type == "leads.defeat.withdrawn":
        return
    sent_back = ev.type == "leads.defeat.sent_back"
    open_item(s, ev.group_id, d.get("consultant_id"), "defeat_sent_back" if sent_back else "defeat_approved",
              d["lead_id"], lead_link(d["lead_id"]),
              {"reason": d.get("reason"), "note": d.get("note") if sent_back else None, "name": d.get("customer_name")},
              store_id=ev.store_id)


def _report_day(consultant_id: str, day: object) -> str:
    """The reference of a consultant's report day (a missed report has no record of its own yet)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"crm:report/{consultant_id}/{_iso(day)}"))


@handlers.on("leads.report.missed")
def report_missed(s: Session, ev: Event) -> None:
    """A consultant's report was not in by its deadline: the store's managers are told (leads' rule)."""
    d = ev.data
    for m in managers_of(s, ev.store_id):
        open_item(s, ev.group_id, m, "report_missing", _report_day(d["consultant_id"], d["day"]), "/leads/reports",
                  {"day": _iso(d.get("day")), "consultant_id": d["consultant_id"]}, store_id=ev.store_id)
    compliance_alert(s, ev.group_id, ev.store_id, _iso(d.get("day")), d["consultant_id"],
                     _report_day(f"store:{ev.store_id}", d["day"]))


@handlers.on("leads.report.submitted")
def report_submitted(s: Session, ev: Event) -> None:
    """A consultant's daily report submitted after its deadline (an approved amendment is no news); it
    closes the managers' "missing" item of that day."""
    d = ev.data
    if d.get("amendment") or not d.get("late") or d.get("consultant_id") is None:
        return
    close_items(s, _report_day(d["consultant_id"], d.get("day")), ("report_missing",))
    for m in managers_of(s, ev.store_id):
        open_item(s, ev.group_id, m, "report_late", d["report_id"], "/leads/reports",
                  {"day": _iso(d.get("day")), "consultant_id": d.get("consultant_id")}, store_id=ev.store_id)


@handlers.on("leads.report.amendment_requested")
def amendment_requested(s: Session, ev: Event) -> None:
    d = ev.data
    for m in managers_of(s, ev.store_id):
        open_item(s, ev.group_id, m, "report_amendment", d["amendment_id"], "/leads/reports",
                  {"day": _iso(d.get("day")), "reason": d.get("reason")}, store_id=ev.store_id)


@handlers.on("leads.report.amendment_decided")
def amendment_decided(s: Session, ev: Event) -> None:
    """The manager decided: their item goes, the consultant is told the answer (with the note)."""
    d = ev.data
    close_items(s, d["amendment_id"], ("report_amendment",))
    open_item(s, ev.group_id, d.get("consultant_id"), "amendment_decided", d["amendment_id"], "/leads/reports",
              {"day": _iso(d.get("day")), "approved": d["approved"], "note": d.get("note")}, store_id=ev.store_id)


def _complaint_link(cid: str) -> str:
    return f"/callcenter/complaints/{cid}"


def _complaint_open(s: Session, ev: Event, data: dict, due_at: datetime | None) -> None:
    cid = ev.data["complaint_id"]
    owners = [ev.data["assignee_id"]] if ev.data.get("assignee_id") else managers_of(s, ev.store_id)
    for m in owners:
        open_item(s, ev.group_id, m, "complaint", cid, _complaint_link(cid), data, store_id=ev.store_id)
    if due_at is not None:  # shown to the overseers once the SLA is missed
        for u in overseers(s):
            open_item(s, ev.group_id, u, "complaint_sla", cid, _complaint_link(cid), data, store_id=ev.store_id,
                      show_from=due_at)


@handlers.on("callcenter.complaint.opened")
def complaint_opened(s: Session, ev: Event) -> None:
    d = ev.data
    due_at = _instant(d.get("due_at"))
    _complaint_open(s, ev, {"severity": d["severity"], "summary": (d.get("summary") or "")[:200],
                            "name": d.get("customer_name"), "due_at": _iso(due_at)}, due_at)


@handlers.on("callcenter.complaint.reopened")
def complaint_reopened(s: Session, ev: Event) -> None:
    d = ev.data
    _complaint_open(s, ev, {"severity": d["severity"], "summary": (d.get("note") or "")[:200]}, None)


@handlers.on("callcenter.complaint.resolved")
def complaint_resolved(s: Session, ev: Event) -> None:
    close_items(s, ev.data["complaint_id"], ("complaint", "complaint_sla"))


@handlers.on("callcenter.attempt.logged")
def attempt_logged(s: Session, ev: Event) -> None:
    """A call-back promised to the customer: the agent's item from a little before the promised time."""
    d = ev.data
    close_items(s, d["task_id"], ("callback_due",))
    at = _instant(d.get("callback_at"))
    if d["outcome"] == "call_back" and at is not None:
        open_item(s, ev.group_id, d.get("agent_id"), "callback_due", d["task_id"], "/callcenter/workbench",
                  {"callback_at": _iso(at), "task_type": d.get("task_type")}, store_id=ev.store_id,
                  show_from=at - CALLBACK_LEAD_TIME)


@handlers.on("callcenter.task.completed")
@handlers.on("callcenter.task.failed")
def task_closed(s: Session, ev: Event) -> None:
    close_items(s, ev.data["task_id"], ("callback_due",))


