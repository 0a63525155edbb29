"""The caller's to-do inbox and notification settings; the group's channels (admin)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from sqlalchemy import func, select

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, Invalid, NotFound
from shared.uow import UnitOfWork

from ..adapters.models import Delivery, GroupChannels, NotifySettings, TodoItem
from .todo import ACKNOWLEDGED, channels_of, settings_of

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
LANGUAGES = ("zh", "en")


def _visible(p: Principal):
    return (TodoItem.user_id == p.user_id) & (TodoItem.show_from <= utcnow())


def open_items(uow: UnitOfWork, p: Principal, limit: int = 200) -> list[TodoItem]:
    """The caller's open items that are due to show, newest first."""
    q = select(TodoItem).where(_visible(p), TodoItem.done_at.is_(None))
    return list(uow.session.scalars(q.order_by(TodoItem.show_from.desc(), TodoItem.id).limit(limit)))


def recently_done(uow: UnitOfWork, p: Principal, limit: int = 20) -> list[TodoItem]:
    q = select(TodoItem).where(_visible(p), TodoItem.done_at.is_not(None))
    return list(uow.session.scalars(q.order_by(TodoItem.done_at.desc()).limit(limit)))


def counts(uow: UnitOfWork, p: Principal) -> dict[str, int]:
    """Open items and, of them, the unread ones."""
    q = select(func.count(), func.count(TodoItem.read_at)).where(_visible(p), TodoItem.done_at.is_(None))
    total, read = uow.session.execute(q).one()
    return {"open": total, "unread": total - read}


def get_item(uow: UnitOfWork, p: Principal, item_id: str) -> TodoItem:
    """One of the caller's own items (anyone else's, in any group, is not found)."""
    item = uow.session.get(TodoItem, item_id)
    if item is None or item.user_id != p.user_id:
        raise NotFound("inbox item")
    return item


def open_item(uow: UnitOfWork, p: Principal, item_id: str) -> TodoItem:
    """The caller follows the item's link: it counts as read."""
    item = get_item(uow, p, item_id)
    if item.read_at is None:
        item.read_at = utcnow()
    return item


def mark_done(uow: UnitOfWork, p: Principal, item_id: str) -> TodoItem:
    """Close an item that only tells something; work items close when the work is done."""
    item = get_item(uow, p, item_id)
    if item.kind not in ACKNOWLEDGED:
        raise Conflict("this item closes by itself when the work is done", code="closes_by_work")
    if item.done_at is None:
        item.read_at = item.read_at or utcnow()
        item.done_at = utcnow()
    return item


@dataclass
class MySettings:
    email: bool = False
    wecom: bool = False
    quiet_start: str | None = None
    quiet_end: str | None = None
    language: str = "zh"


def my_settings(uow: UnitOfWork, p: Principal) -> MySettings:
    s = settings_of(uow.session, p.user_id)
    if s is None:
        return MySettings()
    return MySettings(s.email, s.wecom, s.quiet_start, s.quiet_end, s.language)


def save_my_settings(uow: UnitOfWork, p: Principal, new: MySettings) -> MySettings:
    errors: dict[str, list[str]] = {}
    for f in ("quiet_start", "quiet_end"):
        v = getattr(new, f)
        if v and not HHMM.match(v):
            errors[f] = ["a time of day as HH:MM"]
    if bool(new.quiet_start) != bool(new.quiet_end):
        errors.setdefault("quiet_end", []).append("quiet hours need a start and an end")
    if new.language not in LANGUAGES:
        errors["language"] = [f"one of {', '.join(LANGUAGES)}"]
    if errors:
        raise Invalid("invalid notification settings", errors=errors)
    s = settings_of(uow.session, p.user_id)
    if s is None:
        s = NotifySettings(group_id=p.group_id, user_id=p.user_id)
        uow.session.add(s)
    s.email, s.wecom, s.language = new.email, new.wecom, new.language
    s.quiet_start, s.quiet_end = new.quiet_start or None, new.quiet_end or None
    return new


CHANNEL_FIELDS = ("smtp_host", "smtp_port", "smtp_sender", "smtp_starttls", "wecom_webhook", "public_url")


def group_channels(uow: UnitOfWork) -> dict:
    ch = channels_of(uow.session)
    if ch is None:
        return {"smtp_host": None, "smtp_port": 25, "smtp_sender": None, "smtp_starttls": False,
                "wecom_webhook": None, "public_url": None}
    return {f: getattr(ch, f) for f in CHANNEL_FIELDS}


def _url(value: str | None, field: str, errors: dict) -> None:
    if value:
        u = urlparse(value)
        if u.scheme not in ("http", "https") or not u.netloc:
            errors[field] = ["an http(s) address"]


def save_group_channels(uow: UnitOfWork, p: Principal, data: dict) -> dict:
    errors: dict[str, list[str]] = {}
    _url(data.get("wecom_webhook"), "wecom_webhook", errors)
    _url(data.get("public_url"), "public_url", errors)
    port = data.get("smtp_port", 25)
    if not isinstance(port, int) or not 0 < port < 65536:
        errors["smtp_port"] = ["a port number from 1 to 65535"]
    if errors:
        raise Invalid("invalid channel settings", errors=errors)
    ch = channels_of(uow.session)
    if ch is None:
        ch = GroupChannels(group_id=p.group_id)
        uow.session.add(ch)
    for f in CHANNEL_FIELDS:
        if f in data:
            v = data[f]
            setattr(ch, f, v.strip() or None if isinstance(v, str) else v)
    return group_channels(uow)


def recent_deliveries(uow: UnitOfWork, p: Principal, limit: int = 20) -> list[tuple[Delivery, TodoItem]]:
    """The caller's latest notices and how they went (the settings page shows them)."""
    q = (select(Delivery, TodoItem).join(TodoItem, TodoItem.id == Delivery.item_id)
         .where(TodoItem.user_id == p.user_id).order_by(Delivery.created_at.desc()).limit(limit))
    return [(d, i) for d, i in uow.session.execute(q).all()]
