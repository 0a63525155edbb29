"""What the call center tells us: survey answers (loyalty), complaints, contact attempts."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.events import Event

from .common import active, add_activity


def survey_submitted(s: Session, ev: Event) -> None:
    """The latest answers feed the three loyalty measures: satisfaction, repurchase, recommendation."""
    d = ev.data
    c = active(s, d["customer_id"])
    if c is None:
        return
    if d.get("satisfaction") is not None:
        c.satisfaction = d["satisfaction"]
    if d.get("recommend") is not None:
        c.recommend = d["recommend"]
    if d.get("repurchase"):
        c.repurchase = d["repurchase"]
    add_activity(s, c, "survey", {"task_type": d["task_type"], "score": d["score"], "low_score": d["low_score"],
                                  "satisfaction": d.get("satisfaction"), "recommend": d.get("recommend"),
                                  "repurchase": d.get("repurchase")},
                 store_id=ev.store_id, ref_id=d["response_id"], actor=ev.actor, at=ev.occurred_at)


def complaint_opened(s: Session, ev: Event) -> None:
    d = ev.data
    c = active(s, d["customer_id"])
    if c is None:
        return
    c.open_complaints = (c.open_complaints or 0) + 1
    add_activity(s, c, "complaint", {"severity": d["severity"], "summary": d["summary"], "source": d["source"]},
                 store_id=ev.store_id, ref_id=d["complaint_id"], actor=ev.actor, at=ev.occurred_at)


def complaint_resolved(s: Session, ev: Event) -> None:
    """Resolved by the store (and published again, `confirmed`, once the customer agrees: counted once)."""
    d = ev.data
    c = active(s, d["customer_id"])
    if c is None:
        return
    if not d.get("confirmed"):
        c.open_complaints = max((c.open_complaints or 0) - 1, 0)
    add_activity(s, c, "complaint_confirmed" if d.get("confirmed") else "complaint_resolved",
                 {"severity": d["severity"], "within_sla": d["within_sla"]},
                 store_id=ev.store_id, ref_id=d["complaint_id"], actor=ev.actor, at=ev.occurred_at)


def complaint_reopened(s: Session, ev: Event) -> None:
    """The customer did not accept the resolution: the complaint counts as open again."""
    d = ev.data
    c = active(s, d["customer_id"])
    if c is None:
        return
    c.open_complaints = (c.open_complaints or 0) + 1
    add_activity(s, c, "complaint_reopened", {"severity": d["severity"], "note": d.get("note")},
                 store_id=ev.store_id, ref_id=d["complaint_id"], actor=ev.actor, at=ev.occurred_at)


def attempt_logged(s: Session, ev: Event) -> None:
    """A callback or reminder call (回访) in the customer's contact history."""
    d = ev.data
    c = active(s, d["customer_id"])
    if c is None:
        return
    add_activity(s, c, "call", {"task_type": d["task_type"], "outcome": d["outcome"], "attempt": d["attempt"]},
                 store_id=ev.store_id, ref_id=d["task_id"], actor=d.get("agent_id") or ev.actor, at=ev.occurred_at)
