"""The to-do inbox: who has to do what, made and closed by the events of the services that own the work.

Each item belongs to one user and names one record (`ref`); `kind` says what is to be done (KINDS). An
event opens an item (or reopens a closed one: a new round, notified again) and another event of the
same record closes it, when the work is done. Items that only tell something (a defeat approved, a
late report) are closed by their reader ("Done" in the inbox). Routing: the user an event names
(the lead's consultant, the complaint's assignee, the agent who promised the call-back), else the
managers of the event's store; complaints past their SLA go to the call-center supervisors and the
group admins. New items get one delivery per channel the user chose (`handlers/notices.py`).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from shared import clock
from shared.db import insert_rows, new_id, utcnow
from shared.wake import wake_after_commit
from shared.permissions import ADMIN, ANALYST, MANAGER, SUPERVISOR

from ..adapters.models import Delivery, Group, GroupChannels, NotifySettings, Store, TodoItem, User

#: the `shared.wake` channel a commit with new notice deliveries notifies (the identity worker's sender)
NOTICE_CHANNEL = "crm_identity_notices"

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


def settings_of(s: Session, user_id: str) -> NotifySettings | None:
    return s.scalar(select(NotifySettings).where(NotifySettings.user_id == user_id))


def channels_of(s: Session) -> GroupChannels | None:
    return s.scalar(select(GroupChannels))


_ITEM = cast(Table, TodoItem.__table__)
_DELIVERY = cast(Table, Delivery.__table__)
_ITEM_COLS = [getattr(TodoItem, c.key) for c in _ITEM.columns]
#: the columns an item's refresh or reopening changes (`Todo.write`)
_REFRESHED = ("link", "data", "store_id", "updated_at", "show_from", "done_at", "read_at", "round")
_USER_COLS = (User.id, User.store_id, User.role, User.active, User.email)
_PREFS_COLS = (NotifySettings.user_id, NotifySettings.email, NotifySettings.wecom, NotifySettings.quiet_start,
               NotifySettings.quiet_end)
#: a user's row and their notice settings (if they keep any) in one query (`Todo._load_users`)
_WITH_PREFS = select(*_USER_COLS, *(c.label(f"prefs_{c.key}") for c in _PREFS_COLS)).outerjoin(
    NotifySettings, and_(NotifySettings.user_id == User.id, NotifySettings.group_id == User.group_id))


class _UserRow(NamedTuple):
    id: str
    store_id: str | None
    role: str
    active: bool
    email: str | None


class _Prefs(NamedTuple):
    user_id: str
    email: bool
    wecom: bool
    quiet_start: str | None
    quiet_end: str | None


class Todo:
    """The inbox as one delivery of events (one group's, in order) changes it, set-based.

    Everything the rules read is fetched up front, one query per kind: the items of the records the
    events name (`refs`), the users they name with the managers of their stores and the group's
    overseers and HQ watchers, those users' notice settings, the stores, the group's channels. The
    rules (`open`, `close`, `compliance_alert`) then run in memory in the events' order, exactly as
    they would one event at a time, and `write` stores the outcome: the new items in one multi-row
    INSERT, the closed ones in one UPDATE, refreshed or reopened ones in one more, the new notices in
    one INSERT that notifies the sender (`NOTICE_CHANNEL`). Anything the prefetch did not cover is
    looked up on demand, so the outcome never depends on the prefetch.
    """

    def __init__(self, s: Session, group_id: str | None, refs: set[str], user_ids: set[str],
                 store_ids: set[str]) -> None:
        self.s, self.group_id, self.now = s, group_id, utcnow()
        self._items: dict[str, dict[tuple[str, str], dict]] = {}
        self._orig: dict[str, dict] = {}
        self._new: set[str] = set()
        self._deliveries: dict[str, list[dict]] = {}  # item id -> its notices made here
        self._moves: dict[str, datetime] = {}  # stored item id -> its stored pending notices' new time
        self._users: dict[str, Any] = {}
        self._prefs: dict[str, Any] = {}
        self._stores: dict[str, Any] = {}
        self._tz: ZoneInfo | None = None
        self._load_items(refs)
        stores = sorted(store_ids)
        self._manager_stores = set(stores)
        self._load_users(or_(User.id.in_(sorted(user_ids)),
                             and_(User.role == MANAGER, User.active.is_(True), User.store_id.in_(stores)),
                             and_(User.role.in_((SUPERVISOR, ADMIN, ANALYST)), User.active.is_(True))),
                         sorted(user_ids))
        for row in s.execute(select(Store.id, Store.timezone, Store.name).where(Store.id.in_(stores))):
            self._stores[row.id] = row
        self._channels = channels_of(s)

    # --- what the rules read --------------------------------------------------------------------

    def _load_items(self, refs: set[str]) -> None:
        refs = {r for r in refs if r not in self._items}
        if not refs:
            return
        for r in refs:
            self._items[r] = {}
        for row in self.s.execute(select(*_ITEM_COLS).where(TodoItem.ref.in_(sorted(refs)))).mappings():
            item = dict(row)
            self._items[item["ref"]][(item["user_id"], item["kind"])] = item
            self._orig[item["id"]] = dict(item)

    def _items_of(self, ref: str) -> dict[tuple[str, str], dict]:
        self._load_items({ref})
        return self._items[ref]

    def _load_users(self, where, ids: list[str]) -> None:
        for uid in ids:
            self._users.setdefault(uid, None)
        for row in self.s.execute(_WITH_PREFS.where(where)):
            self._users[row.id] = _UserRow._make(row[:5])
            self._prefs[row.id] = _Prefs._make(row[5:]) if row.prefs_user_id is not None else None

    def user(self, user_id: str):
        if user_id not in self._users:
            self._load_users(User.id == user_id, [user_id])
        return self._users[user_id]

    def _active(self, roles: tuple[str, ...], store_id: str | None = None) -> list[str]:
        return sorted(u.id for u in self._users.values() if u is not None and u.active and u.role in roles
                      and (store_id is None or u.store_id == store_id))

    def managers_of(self, store_id: str | None) -> list[str]:
        if not store_id:
            return []
        if store_id not in self._manager_stores:
            self._manager_stores.add(store_id)
            self._load_users(and_(User.role == MANAGER, User.active.is_(True), User.store_id == store_id), [])
        return self._active((MANAGER,), store_id)

    def overseers(self) -> list[str]:
        """Who watches the group's complaint SLA: the call-center supervisors and the group admins."""
        return self._active((SUPERVISOR, ADMIN))

    def hq_watchers(self) -> list[str]:
        """Who watches the stores' compliance for HQ: the group admins and the HQ analysts."""
        return self._active((ADMIN, ANALYST))

    def store(self, store_id: str | None):
        if not store_id:
            return None
        if store_id not in self._stores:
            self._stores[store_id] = self.s.execute(
                select(Store.id, Store.timezone, Store.name).where(Store.id == store_id)).first()
        return self._stores[store_id]

    def group_tz(self) -> ZoneInfo:
        if self._tz is None:
            self._tz = _group_tz(self.s, self.group_id)
        return self._tz

    def day_start(self, store_id: str | None, day: date) -> datetime:
        """The first instant of a local day in the store's time zone (else the group's)."""
        st = self.store(store_id)
        tz = ZoneInfo(st.timezone) if st is not None else self.group_tz()
        return datetime.combine(day, time(0, 0), tz)

    def not_quiet(self, user_id: str, at: datetime) -> datetime:
        if user_id not in self._prefs:
            self.user(user_id)
        return _not_quiet(self._prefs.get(user_id), at, self.group_tz)

    # --- the rules' moves -----------------------------------------------------------------------

    def open(self, user_id: str | None, kind: str, ref: str, link: str, data: dict, store_id: str | None = None,
             show_from: datetime | None = None) -> dict | None:
        """Open (or refresh, or reopen) the user's item of this kind for this record."""
        if not user_id or self.user(user_id) is None:
            return None  # a user this group does not have (yet): nobody to tell
        now = self.now
        show = show_from or now
        items = self._items_of(ref)
        item = items.get((user_id, kind))
        if item is None:
            item = {"id": new_id(), "group_id": self.group_id, "user_id": user_id, "kind": kind, "ref": ref,
                    "store_id": store_id, "link": link, "data": data, "show_from": show, "created_at": now,
                    "updated_at": now, "read_at": None, "done_at": None, "round": 1}
            items[(user_id, kind)] = item
            self._new.add(item["id"])
            self._schedule(item)
            return item
        reopened = item["done_at"] is not None
        if data.get("name") is None and (item["data"] or {}).get("name"):  # a later event may not name the person
            data = {**data, "name": item["data"]["name"]}
        moved = item["show_from"] != show
        item.update(link=link, data=data, store_id=store_id, updated_at=now, show_from=show)
        if reopened:
            item.update(done_at=None, read_at=None, round=item["round"] + 1)
            self._schedule(item)
        elif moved:
            at = self.not_quiet(user_id, max(show, now))
            for d in self._deliveries.get(item["id"], ()):
                d["next_at"] = at
            if item["id"] not in self._new:
                self._moves[item["id"]] = at
        return item

    def close(self, ref: str, kinds: tuple[str, ...], but_user: str | None = None) -> int:
        """The work on `ref` is done: close its open items of these kinds (of all users, or all but one)."""
        n = 0
        for (user_id, kind), item in self._items_of(ref).items():
            if kind in kinds and item["done_at"] is None and (but_user is None or user_id != but_user):
                item["done_at"] = item["updated_at"] = self.now
                n += 1
        return n

    def compliance_alert(self, store_id: str | None, day: str | None, consultant_id: str, ref: str) -> None:
        """HQ's compliance alert: one item per store and day, counting the consultants whose report is missing."""
        store = self.store(store_id)
        for u in self.hq_watchers():
            item = self._items_of(ref).get((u, "compliance_alert"))
            missing = sorted({*(((item["data"] or {}).get("consultants") or []) if item else []), consultant_id})
            self.open(u, "compliance_alert", ref, "/analytics/compliance",
                      {"day": day, "store": store.name if store else None, "missing": len(missing),
                       "consultants": missing}, store_id=store_id)

    def _schedule(self, item: dict) -> None:
        """One delivery per channel the user chose and the group has, for this round of the item."""
        prefs, chans = self._prefs.get(item["user_id"]), self._channels
        if prefs is None or chans is None:
            return
        user = self.user(item["user_id"])
        wanted = []
        if prefs.email and chans.smtp_host and user is not None and user.email:
            wanted.append("email")
        if prefs.wecom and chans.wecom_webhook:
            wanted.append("wecom")
        at = self.not_quiet(item["user_id"], max(item["show_from"], self.now))
        for channel in wanted:
            self._deliveries.setdefault(item["id"], []).append(
                {"id": new_id(), "group_id": self.group_id, "item_id": item["id"], "channel": channel,
                 "round": item["round"], "next_at": at, "status": "pending", "created_at": self.now})

    # --- the outcome ----------------------------------------------------------------------------

    def write(self) -> None:
        s = self.s
        new, closed, refreshed = [], [], []
        for items in self._items.values():
            for item in items.values():
                if item["id"] in self._new:
                    new.append(item)
                    continue
                orig = self._orig[item["id"]]
                changed = {k for k, v in item.items() if orig[k] != v}
                if not changed:
                    continue
                if changed <= {"done_at", "updated_at"} and item["done_at"] == self.now == item["updated_at"]:
                    closed.append(item["id"])
                else:
                    refreshed.append({f"b_{k}": item[k] for k in ("id", *_REFRESHED)})
        insert_rows(s, _ITEM, new)
        if closed:
            s.execute(update(TodoItem).where(TodoItem.id.in_(sorted(closed)))
                      .values(done_at=self.now, updated_at=self.now).execution_options(synchronize_session=False))
        if refreshed:
            s.execute(update(_ITEM).where(_ITEM.c.id == bindparam("b_id"))
                      .values({k: bindparam(f"b_{k}", type_=_ITEM.c[k].type) for k in _REFRESHED}), refreshed)
        if self._moves:
            s.execute(update(_DELIVERY).where(_DELIVERY.c.item_id == bindparam("b_item"), _DELIVERY.c.status == "pending")
                      .values(next_at=bindparam("b_at", type_=_DELIVERY.c.next_at.type)),
                      [{"b_item": k, "b_at": v} for k, v in self._moves.items()])
        notices = [d for ds in self._deliveries.values() for d in ds]
        if notices:  # the worker's notice sender wakes when this commits (and sleeps until `next_at` if later)
            insert_rows(s, _DELIVERY, notices, notify=NOTICE_CHANNEL)
            wake_after_commit(s, NOTICE_CHANNEL)


def _hm(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


def not_quiet(s: Session, user_id: str, at: datetime) -> datetime:
    """`at`, or the end of the user's quiet hours if `at` falls inside them (group's local time)."""
    prefs = settings_of(s, user_id)
    return _not_quiet(prefs, at, lambda: _group_tz(s, prefs.group_id if prefs is not None else None))


def _not_quiet(prefs, at: datetime, tz: Callable[[], ZoneInfo]) -> datetime:
    if prefs is None or not prefs.quiet_start or not prefs.quiet_end:
        return at
    return quiet_end_after(at, _hm(prefs.quiet_start), _hm(prefs.quiet_end), tz())


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
