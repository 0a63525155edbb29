"""What the call center counts per store and local day: the figures analytics derives from its events,
counted from its own tables, for the reconciliation (analytics compares them with its rollups)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.daily_counts import DailyCounter

from ..adapters.models import Attempt, Complaint, StoreRef, SurveyResponse, Task

#: the metrics, named as analytics' rollups: callback tasks created, closed (completed or failed) and
#: reached, calls made, questionnaires answered, complaints opened
METRICS = ("callbacks_created", "callbacks_closed", "callbacks_reached", "call_attempts", "surveys", "complaints")


def daily_counts(s: Session, day_from: date, day_to: date) -> list[dict]:
    """Per store, local day and metric, the count of facts in [day_from, day_to] the caller may see."""
    return count(s, day_from, day_to).rows()


def count(s: Session, day_from: date, day_to: date) -> DailyCounter:
    """The one rule of which record makes which figure on which local day: counted for the reconciliation,
    and the records whose events a replay publishes again (`shared.daily_counts.replay`)."""
    c = DailyCounter(day_from, day_to, {st.id: st.timezone for st in s.scalars(select(StoreRef))})
    lo, hi = c.window
    at: datetime | None  # the loops below read nullable columns
    for rid, sid, at in s.execute(select(Task.id, Task.store_id, Task.created_at)
                                  .where(Task.created_at >= lo, Task.created_at < hi)):
        c.at(sid, at, "callbacks_created", rid)
    for rid, sid, status, at in s.execute(select(Task.id, Task.store_id, Task.status, Task.closed_at).where(
            Task.status.in_(("done", "failed")), Task.closed_at >= lo, Task.closed_at < hi)):
        c.at(sid, at, "callbacks_closed", rid)
        if status == "done":
            c.at(sid, at, "callbacks_reached", rid)
    for task_id, sid, at in s.execute(select(Attempt.task_id, Attempt.store_id, Attempt.created_at).where(
            Attempt.created_at >= lo, Attempt.created_at < hi)):
        c.at(sid, at, "call_attempts", task_id)  # its event names the task
    for rid, sid, at in s.execute(select(SurveyResponse.id, SurveyResponse.store_id, SurveyResponse.created_at).where(
            SurveyResponse.created_at >= lo, SurveyResponse.created_at < hi)):
        c.at(sid, at, "surveys", rid)
    for rid, sid, at in s.execute(select(Complaint.id, Complaint.store_id, Complaint.created_at).where(
            Complaint.created_at >= lo, Complaint.created_at < hi)):
        c.at(sid, at, "complaints", rid)
    return c
