"""The to-do inbox: who has to do what, made and closed by the events of the services that own the work.

Each item belongs to one user and names one record (`ref`); `kind` says what is to be done (KINDS). An
event opens an item (or reopens a closed one: a new round, notified again) and another event of the
same record closes it, when the work is done. Items that only tell something (a defeat approved, a
late report) are closed by their reader ("Done" in the inbox). Routing: the user an event names
(the lead's consultant, the complaint's assignee, the agent who promised the call-back), else the
managers of the event's store; complaints past their SLA go to the call-center supervisors and the
group admins. New items get one delivery per channel the user chose (`services.identity.entrypoints.delivery`).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import clock
from shared.db import utcnow
from shared.permissions import ADMIN, ANALYST, MANAGER, SUPERVISOR

from ..adapters.models import Delivery, Group, GroupChannels, NotifySettings, Store, TodoItem, User

#: kind → (who it is for, whether its reader closes it); the texts are in `services.identity.domain.inbox_text`
KINDS = {
    "lead_new": "consultant",
    "lead_reassigned": "consultant",
    "lead_due": "consultant",
    "defeat_sent_back": "consultant",
    "defeat_approved": "consultant",
    "amendment_decided": "consultant",
    "lead_unassigned": "manager",
    "defeat_decide": "manager",
    "first_response_breach": "manager",
    "report_late": "manager",
    "report_missing": "manager",
    "report_amendment": "manager",
    "complaint": "manager",
    "callback_due": "agent",
    "complaint_sla": "oversight",
    "compliance_alert": "hq",
}
#: items that tell something: done when their reader says so (no later event closes them)
ACKNOWLEDGED = frozenset({"defeat_approved", "amendment_decided", "first_response_breach", "report_late",
                          "report_missing", "compliance_alert",
                          "defeat_sent_back", "lead_reassigned"})
#: a promised call-back shows this long before the promised time
CALLBACK_LEAD_TIME = timedelta(minutes=10)
CHANNELS = ("email", "wecom")


def lead_link(lead_id: str) -> str:
    return f"/leads/{lead_id}"


def _group_tz(s: Session, group_id: str | None) -> ZoneInfo:
    g = s.get(Group, group_id) if group_id else None
    return clock.zone(g.timezone if g is not None else None)


def day_start(s: Session, store_id: str | None, group_id: str | None, day: date) -> datetime:
    """The first instant of a local day in the store's time zone (else the group's)."""
    st = s.get(Store, store_id) if store_id else None
    tz = ZoneInfo(st.timezone) if st is not None else _group_tz(s, group_id)
    return datetime.combine(day, time(0, 0), tz)


def managers_of(s: Session, store_id: str | None) -> list[str]:
    if not store_id:
        return []
    return list(s.scalars(select(User.id).where(User.store_id == store_id, User.role == MANAGER,
                                                User.active.is_(True)).order_by(User.id)))


def overseers(s: Session) -> list[str]:
    """Who watches the group's complaint SLA: the call-center supervisors and the group admins."""
    return list(s.scalars(select(User.id).where(User.role.in_((SUPERVISOR, ADMIN)), User.active.is_(True))
                          .order_by(User.id)))


def hq_watchers(s: Session) -> list[str]:
    """Who watches the stores' compliance for HQ: the group admins and the HQ analysts."""
    return list(s.scalars(select(User.id).where(User.role.in_((ADMIN, ANALYST)), User.active.is_(True))
                          .order_by(User.id)))


def compliance_alert(s: Session, group_id: str | None, store_id: str | None, day: str | None, consultant_id: str,
                     ref: str) -> None:
    """HQ's compliance alert: one item per store and day, counting the consultants whose report is missing."""
    store = s.get(Store, store_id) if store_id else None
    for u in hq_watchers(s):
        item = s.scalar(select(TodoItem).where(TodoItem.user_id == u, TodoItem.kind == "compliance_alert",
                                               TodoItem.ref == ref))
        missing = sorted({*(((item.data or {}).get("consultants") or []) if item else []), consultant_id})
        open_item(s, group_id, u, "compliance_alert", ref, "/analytics/compliance",
                  {"day": day, "store": store.name if store else None, "missing": len(missing),
                   "consultants": missing}, store_id=store_id)


def open_item(s: Session, group_id: str | None, user_id: str | None, kind: str, ref: str, link: str, data: dict,
              store_id: str | None = None, show_from: datetime | None = None) -> TodoItem | None:
    """Open (or refresh, or reopen) the user's item of this kind for this record."""
    if not user_id or s.get(User, user_id) is None:
        return None  # a user this group does not have (yet): nobody to tell
    now = utcnow()
    show = show_from or now
    item = s.scalar(select(TodoItem).where(TodoItem.user_id == user_id, TodoItem.kind == kind, TodoItem.ref == ref))
    if item is None:
        item = TodoItem(group_id=group_id, user_id=user_id, kind=kind, ref=ref, store_id=store_id, link=link,
                        data=data, show_from=show, created_at=now, updated_at=now, round=1)
        s.add(item)
        s.flush()
        schedule(s, item)
        return item
    reopened = item.done_at is not None
    if data.get("name") is None and (item.data or {}).get("name"):  # a later event may not name the person
        data = {**data, "name": item.data["name"]}
    item.link, item.data, item.store_id, item.updated_at = link, data, store_id, now
    moved = item.show_from != show
    item.show_from = show
    if reopened:
        item.done_at, item.read_at, item.round = None, None, item.round + 1
        schedule(s, item)
    elif moved:
        for d in s.scalars(select(Delivery).where(Delivery.item_id == item.id, Delivery.status == "pending")):
            d.next_at = not_quiet(s, item.user_id, max(show, now))
    return item


def close_items(s: Session, ref: str, kinds: tuple[str, ...], user_id: str | None = None,
                but_user: str | None = None) -> int:
    """The work on `ref` is done: close its open items of these kinds (of one user, or all but one)."""
    q = select(TodoItem).where(TodoItem.ref == ref, TodoItem.kind.in_(kinds), TodoItem.done_at.is_(None))
    if user_id is not None:
        q = q.where(TodoItem.user_id == user_id)
    if but_user is not None:
        q = q.where(TodoItem.user_id != but_user)
    now, n = utcnow(), 0
    for item in s.scalars(q):
        item.done_at, item.updated_at = now, now
        n += 1
    return n


def settings_of(s: Session, user_id: str) -> NotifySettings | None:
    return s.scalar(select(NotifySettings).where(NotifySettings.user_id == user_id))


def channels_of(s: Session) -> GroupChannels | None:
    return s.scalar(select(GroupChannels))


def schedule(s: Session, item: TodoItem) -> None:
    """One delivery per channel the user chose and the group has, for this round of the item."""
    prefs = settings_of(s, item.user_id)
    chans = channels_of(s)
    if prefs is None or chans is None:
        return
    user = s.get(User, item.user_id)
    wanted = []
    if prefs.email and chans.smtp_host and user is not None and user.email:
        wanted.append("email")
    if prefs.wecom and chans.wecom_webhook:
        wanted.append("wecom")
    at = not_quiet(s, item.user_id, max(item.show_from, utcnow()))
    for channel in wanted:
        s.add(Delivery(group_id=item.group_id, item_id=item.id, channel=channel, round=item.round, next_at=at))


def _hm(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


def not_quiet(s: Session, user_id: str, at: datetime) -> datetime:
    """`at`, or the end of the user's quiet hours if `at` falls inside them (group's local time)."""
    prefs = settings_of(s, user_id)
    if prefs is None or not prefs.quiet_start or not prefs.quiet_end:
        return at
    return quiet_end_after(at, _hm(prefs.quiet_start), _hm(prefs.quiet_end), _group_tz(s, prefs.group_id))


def quiet_end_after(at: datetime, start: time, end: time, tz: ZoneInfo) -> datetime:
    """If `at` is within the daily quiet window [start, end) (crossing midnight when end <= start),
    the instant the window ends; else `at`."""
    local = at.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    if start == end:
        return at
    if start < end:
        inside, end_day = start <= t < end, local.date()
    else:
        inside = t >= start or t < end
        end_day = local.date() + timedelta(days=1) if t >= start else local.date()
    if not inside:
        return at
    return datetime.combine(end_day, end, tz).astimezone(at.tzinfo)
