"""Daily activity reports: counted from logged activities, submitted once, amended in the open."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.bus import emit
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.events import Event
from shared.permissions import CONSULTANT, MANAGER

from ..domain.funnel import REPORT_FIELDS, amended, merge_figures
from ..domain.timing import is_late, local_date, local_midnight, report_deadline, report_owed
from ..adapters.models import (
    DailyReport,
    FollowUp,
    Lead,
    LevelChange,
    Order,
    ReportAmendment,
    ReportMiss,
    ReportReopening,
    StaffRef,
    StoreRef,
    TestDrive,
    Visit,
)
from .common import now, store_of

FU_FIELDS = {"call": "calls", "sms_wechat": "sms_wechat", "dm": "dms", "handout": "handouts",
             "visit": "customer_visits"}


def auto_figures(s: Session, store: StoreRef, day: date, consultant_id: str | None) -> dict[str, int]:
    """What the logged activities of one local day say (for one consultant, or the whole store)."""
    lo, hi = local_midnight(day, store.timezone), local_midnight(day + timedelta(days=1), store.timezone)
    out = dict.fromkeys(REPORT_FIELDS, 0)

    def who(col):
        return [col == consultant_id] if consultant_id else []

    # grouped by the plain columns: PostgreSQL does not take `GROUP BY outcome = $2` for `SELECT outcome = $1`
    for kind, outcome, n in s.execute(
            select(FollowUp.kind, FollowUp.outcome, func.count(FollowUp.id))
            .where(FollowUp.store_id == store.id, FollowUp.at >= lo, FollowUp.at < hi, *who(FollowUp.consultant_id))
            .group_by(FollowUp.kind, FollowUp.outcome)):
        out[FU_FIELDS[kind]] += n
        if kind == "call" and outcome != "no_answer":
            out["reached"] += n
    for kind, n in s.execute(select(Visit.kind, func.count(Visit.id)).where(
            Visit.store_id == store.id, Visit.time_in >= lo, Visit.time_in < hi, *who(Visit.consultant_id))
            .group_by(Visit.kind)):
        out["showroom_groups" if kind == "walk_in" else "phone_ins"] += n
    out["test_drive_groups"] = s.scalar(select(func.count(TestDrive.id)).where(
        TestDrive.store_id == store.id, TestDrive.completed_at >= lo, TestDrive.completed_at < hi,
        *who(TestDrive.consultant_id))) or 0
    out["new_leads"] = s.scalar(select(func.count(Lead.id)).where(
        Lead.store_id == store.id, Lead.created_at >= lo, Lead.created_at < hi, *who(Lead.consultant_id))) or 0
    out["new_a_cards"] = s.scalar(select(func.count(LevelChange.id)).where(
        LevelChange.store_id == store.id, LevelChange.to_level == "A", LevelChange.at >= lo, LevelChange.at < hi,
        *who(LevelChange.consultant_id))) or 0
    out["orders"] = s.scalar(select(func.count(Order.id)).where(
        Order.store_id == store.id, Order.created_at >= lo, Order.created_at < hi, *who(Order.consultant_id))) or 0
    out["deliveries"] = s.scalar(select(func.count(Order.id)).where(
        Order.store_id == store.id, Order.delivered_on == day, *who(Order.consultant_id))) or 0
    return out


def owner_of(p: Principal, kind: str) -> tuple[str, str | None]:
    """(owner, consultant_id): a consultant reports for themself, the manager for the store (TACT)."""
    if kind == "store":
        if p.role != MANAGER:
            raise Forbidden("only the store manager submits the store's statistics")
        return "store", None
    if p.role != CONSULTANT:
        raise Invalid("only consultants submit a consultant report", errors={"kind": ["use kind=store"]})
    return p.user_id, p.user_id


def find_report(s: Session, store_id: str, owner: str, day: date) -> DailyReport | None:
    return s.scalar(select(DailyReport).where(DailyReport.store_id == store_id, DailyReport.owner == owner,
                                              DailyReport.day == day))


def submit(s: Session, p: Principal, store_id: str, day: date, kind: str, entered: dict[str, int],
           note: str | None) -> DailyReport:
    """Submit a day's report, by 18:00 (weekends: Monday 09:30); final once in. After the deadline it is
    accepted only once the store manager has reopened the day (`reopen`), and then counts as late."""
    store = store_of(s, p, store_id)
    owner, consultant = owner_of(p, kind)
    at = now()
    if day > local_date(at, store.timezone):
        raise Invalid("a day that has not happened yet cannot be reported", errors={"day": ["in the future"]})
    if find_report(s, store.id, owner, day) is not None:
        raise Conflict("this day's report is already submitted; file an amendment with a reason", "submitted")
    if is_late(day, at, store.timezone):
        reopening = open_reopening(s, store.id, owner, day)
        if reopening is None:
            due = report_deadline(day, store.timezone).strftime("%Y-%m-%d %H:%M")
            raise Conflict(f"the report of {day.isoformat()} closed at its deadline ({due}); late back-filling is "
                           "accepted only after the store manager reopens the day", "report_closed")
        reopening.used_at = at
    figures = merge_figures(auto_figures(s, store, day, consultant), entered)
    r = DailyReport(group_id=store.group_id, store_id=store.id, owner=owner, consultant_id=consultant, day=day,
                    figures=figures, note=note, submitted_at=at, submitted_by=p.user_id,
                    deadline_at=report_deadline(day, store.timezone), late=is_late(day, at, store.timezone))
    s.add(r)
    s.flush()
    _emit(s, p, store, r, figures, amendment=False, late=r.late)
    return r


def open_reopening(s: Session, store_id: str, owner: str, day: date) -> ReportReopening | None:
    return s.scalar(select(ReportReopening).where(
        ReportReopening.store_id == store_id, ReportReopening.owner == owner, ReportReopening.day == day,
        ReportReopening.used_at.is_(None)).limit(1))


def reopen(s: Session, p: Principal, store_id: str, day: date, consultant_id: str | None,
           reason: str) -> ReportReopening:
    """The store manager reopens a day whose deadline has passed, for one consultant's report (or the
    store's statistics when no consultant is named): one late submission is then accepted."""
    if p.role != MANAGER:
        raise Forbidden("only the store manager reopens a report day")
    store = store_of(s, p, store_id)
    if not (reason or "").strip():
        raise Invalid("say why the day is reopened", errors={"reason": ["required"]})
    if consultant_id:
        staff = s.get(StaffRef, consultant_id)
        if staff is None or staff.store_id != store.id or staff.role != CONSULTANT:
            raise Invalid("no such consultant at this store", errors={"consultant_id": ["a consultant of the store"]})
    owner = consultant_id or "store"
    at = now()
    if not is_late(day, at, store.timezone):
        raise Invalid("this day's report is still open until its deadline", errors={"day": ["not past its deadline"]})
    if find_report(s, store.id, owner, day) is not None:
        raise Conflict("this day's report is already submitted; file an amendment with a reason", "submitted")
    existing = open_reopening(s, store.id, owner, day)
    if existing is not None:
        return existing
    r = ReportReopening(group_id=store.group_id, store_id=store.id, owner=owner, day=day, reason=reason.strip()[:500],
                        by=p.user_id, at=at)
    s.add(r)
    s.flush()
    emit(s, Event(type="leads.report.reopened", group_id=store.group_id, brand_id=store.brand_id, store_id=store.id,
                  actor=p.user_id, data={"reopening_id": r.id, "consultant_id": consultant_id, "day": day,
                                         "reason": r.reason}))
    return r


def publish_misses(s: Session, at: datetime, days_back: int = 7) -> int:
    """Publish `leads.report.missed` once for every consultant's owed report (a weekday's) of today and the
    last `days_back` days that was not in by its deadline (leads' own rule: analytics counts the events and
    re-derives nothing); returns how many. Run by leads' daily job, in every group's scope."""
    n = 0
    for store in s.scalars(select(StoreRef)):
        today = local_date(at, store.timezone)
        staff = list(s.scalars(select(StaffRef).where(StaffRef.store_id == store.id, StaffRef.role == CONSULTANT,
                                                      StaffRef.active.is_(True))))
        for back in range(days_back + 1):
            day = today - timedelta(days=back)
            if not report_owed(day) or report_deadline(day, store.timezone) > at:
                continue
            owed = {c.id for c in staff if c.known_at is None or local_date(c.known_at, store.timezone) <= day}
            done = set(s.scalars(select(DailyReport.owner).where(DailyReport.store_id == store.id,
                                                                  DailyReport.day == day)))
            done |= set(s.scalars(select(ReportMiss.consultant_id).where(ReportMiss.store_id == store.id,
                                                                          ReportMiss.day == day)))
            for consultant in sorted(owed - done):
                s.add(ReportMiss(group_id=store.group_id, store_id=store.id, consultant_id=consultant, day=day, at=at))
                emit(s, Event(type="leads.report.missed", group_id=store.group_id, brand_id=store.brand_id,
                              store_id=store.id, data={"consultant_id": consultant, "day": day,
                                                       "deadline": report_deadline(day, store.timezone)}))
                n += 1
    s.flush()
    return n


def amend(s: Session, p: Principal, report_id: str, changes: dict[str, int], reason: str) -> ReportAmendment:
    """Ask to change a submitted report: the original stays, the amendment is kept beside it with author, time
    and why. A consultant's figures are final once submitted: the change waits for the store manager
    (`decide_amendment`); the manager's own change to the store's statistics is in force at once."""
    r = s.get(DailyReport, report_id)
    if r is None or (r.owner == "store" and p.role != MANAGER):
        raise NotFound("report")
    if not reason or not reason.strip():
        raise Invalid("say why the report changes", errors={"reason": ["required"]})
    if any(a.status == "pending" for a in amendments_of(s, r)):
        raise Conflict("an amendment of this report is already waiting for the manager", "amendment_pending")
    current = effective(s, r)
    changed = {k: int(v) for k, v in changes.items() if current.get(k) != int(v)}
    if not changed:
        raise Invalid("nothing changes", errors={"changes": ["same as the figures in force"]})
    at = now()
    direct = p.role == MANAGER
    a = ReportAmendment(group_id=r.group_id, store_id=r.store_id, report_id=r.id, changes=changed,
                        previous={k: current.get(k, 0) for k in changed}, reason=reason.strip(), author=p.user_id,
                        at=at, status="approved" if direct else "pending", decided_by=p.user_id if direct else None,
                        decided_at=at if direct else None)
    s.add(a)
    s.flush()
    if direct:
        _apply(s, p, r, a, current)
    else:
        _emit_amendment(s, p, r, a, "leads.report.amendment_requested", {"reason": a.reason})
    return a


def decide_amendment(s: Session, p: Principal, amendment_id: str, approve: bool, note: str | None) -> ReportAmendment:
    """The store manager approves a consultant's amendment (its figures are then in force) or rejects it."""
    if p.role != MANAGER:
        raise Forbidden("only the store manager decides on amendments")
    a = s.get(ReportAmendment, amendment_id)
    r = s.get(DailyReport, a.report_id) if a is not None else None
    if a is None or r is None:
        raise NotFound("amendment")
    if a.status != "pending":
        raise Conflict(f"this amendment is already {a.status}", "decided")
    if not approve and not (note or "").strip():
        raise Invalid("say why the amendment is rejected", errors={"note": ["required"]})
    current = effective(s, r)
    a.status, a.decided_by, a.decided_at = ("approved" if approve else "rejected"), p.user_id, now()
    a.decision_note = (note or "").strip()[:500] or None
    _emit_amendment(s, p, r, a, "leads.report.amendment_decided", {"approved": approve, "note": a.decision_note})
    if approve:
        a.previous = {k: current.get(k, 0) for k in a.changes}  # what it changes now, at approval
        s.flush()
        _apply(s, p, r, a, current)
    return a


def _emit_amendment(s: Session, p: Principal, r: DailyReport, a: ReportAmendment, type_: str, data: dict) -> None:
    """An amendment asked for or decided (the manager's and the consultant's inboxes learn of it)."""
    store = s.get_one(StoreRef, r.store_id)
    emit(s, Event(type=type_, group_id=store.group_id, brand_id=store.brand_id, store_id=store.id, actor=p.user_id,
                  data={"report_id": r.id, "amendment_id": a.id, "consultant_id": r.consultant_id, "day": r.day,
                        **data}))


def pending_amendments(s: Session, store_id: str) -> list[tuple[ReportAmendment, DailyReport]]:
    """The amendment requests of a store's consultants waiting for the manager, oldest first."""
    return list(s.execute(select(ReportAmendment, DailyReport)
                          .join(DailyReport, DailyReport.id == ReportAmendment.report_id)
                          .where(ReportAmendment.store_id == store_id, ReportAmendment.status == "pending")
                          .order_by(ReportAmendment.at)))


def _apply(s: Session, p: Principal, r: DailyReport, a: ReportAmendment, current: dict[str, int]) -> None:
    store = s.get_one(StoreRef, r.store_id)
    _emit(s, p, store, r, amended(current, [a.changes]), amendment=True,
          late=is_late(r.day, a.at, store.timezone))


def amendments_of(s: Session, r: DailyReport) -> list[ReportAmendment]:
    return list(s.scalars(select(ReportAmendment).where(ReportAmendment.report_id == r.id)
                          .order_by(ReportAmendment.at)))


def effective(s: Session, r: DailyReport) -> dict[str, int]:
    """The figures in force: the submitted ones with the approved amendments applied in order."""
    return amended(r.figures, [a.changes for a in amendments_of(s, r) if a.status == "approved"])


def _emit(s: Session, p: Principal, store: StoreRef, r: DailyReport, figures: dict, amendment: bool,
          late: bool) -> None:
    emit(s, Event(type="leads.report.submitted", group_id=store.group_id, brand_id=store.brand_id,
                  store_id=store.id, actor=p.user_id,
                  data={"report_id": r.id, "consultant_id": r.consultant_id, "day": r.day, "figures": figures,
                        "late": late, "amendment": amendment}))
