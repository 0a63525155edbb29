"""One notice of an inbox item, from claim to sent: what is due, the claim (pending → sending, a compare and
set), the message in the user's language on the group's channel, and the outcome (sent; or back to pending
with a growing delay, given up after MAX_ATTEMPTS). The identity worker's `NoticeQueue`
(`entrypoints/delivery.py`) runs these, each in a unit of work of its own."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

from babel.support import Translations
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session

from shared.db import utcnow

from ..domain.inbox_text import describe
from ..adapters.channels import SendFailed, send_email, send_wecom
from ..adapters.models import Delivery, GroupChannels, TodoItem, User
from .todo import not_quiet, settings_of

MAX_ATTEMPTS = 10
CLAIM_TIMEOUT = timedelta(minutes=5)
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


def _translations(language: str):
    return Translations.load(str(TRANSLATIONS), [language, "zh"] if language != "en" else ["en"])


def message_text(item: TodoItem, language: str, public_url: str | None) -> tuple[str, str]:
    """The notice's subject and body in the user's language."""
    tr = _translations(language)
    title, detail = describe(item.kind, item.data or {}, tr.gettext)
    link = (public_url or "").rstrip("/") + item.link
    return title, "\n".join(x for x in (title, detail, link) if x)


def due(s: Session, now: datetime, limit: int) -> tuple[list[tuple[str, str]], float | None]:
    """The (id, group id) of deliveries due now, oldest first, and in how many seconds the next one
    not due yet falls due (None: none is waiting)."""
    stale = now - CLAIM_TIMEOUT
    pending, sending = Delivery.status == "pending", Delivery.status == "sending"
    rows = s.execute(select(Delivery.id, Delivery.group_id).where(or_(
        pending & (Delivery.next_at <= now), sending & (Delivery.next_at <= stale)))
        .order_by(Delivery.next_at).limit(limit)).all()
    retry = s.scalar(select(func.min(Delivery.next_at)).where(pending))
    claimed = s.scalar(select(func.min(Delivery.next_at)).where(sending))  # a claim, stale this much later
    later = [_aware(t) for t in (retry, claimed and claimed + CLAIM_TIMEOUT) if t is not None]
    wait = max(0.0, (min(later) - now).total_seconds()) if later else None
    return [(r.id, r.group_id) for r in rows], wait


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def claim(s: Session, d_id: str, now: datetime) -> bool:
    """Turn a due delivery to "sending" (only one worker does: a compare and set); False if another has it."""
    return bool(cast("CursorResult[Any]", s.execute(update(Delivery).where(
        Delivery.id == d_id, or_(Delivery.status == "pending",
                                 (Delivery.status == "sending") & (Delivery.next_at <= now - CLAIM_TIMEOUT)))
        .values(status="sending", next_at=now, attempts=Delivery.attempts + 1))).rowcount)


@dataclass(frozen=True)
class Notice:
    """What to send, read in the delivery's transaction and sent after it."""

    channel: str
    channels: GroupChannels | None
    email: str | None
    subject: str
    body: str


def notice_of(s: Session, d_id: str) -> Notice | None:
    """The claimed delivery's message, or None when it is not to be sent now: its item was closed meanwhile
    (skipped), or the user's quiet hours began after it was scheduled (pending until they end)."""
    d = s.get_one(Delivery, d_id)
    item = s.get_one(TodoItem, d.item_id)
    if item.done_at is not None or item.round != d.round:
        d.status = "skipped"
        return None
    later = not_quiet(s, item.user_id, utcnow())
    if later > utcnow():  # quiet hours began after it was scheduled
        d.status, d.next_at = "pending", later
        return None
    ch = s.scalar(select(GroupChannels))
    prefs = settings_of(s, item.user_id)
    user = s.get(User, item.user_id)
    language = prefs.language if prefs is not None else "zh"
    subject, body = message_text(item, language, ch.public_url if ch else None)
    return Notice(d.channel, ch, user.email if user else None, subject, body)


def send(n: Notice) -> None:
    """Send it on its channel (SendFailed: not sent, with the reason)."""
    ch = n.channels
    if ch is None:
        raise SendFailed("the group has no channels configured")
    if n.channel == "email":
        if not ch.smtp_host or not n.email:
            raise SendFailed("no SMTP server or no e-mail address")
        send_email(ch, n.email, n.subject, n.body)
    else:
        if not ch.wecom_webhook:
            raise SendFailed("no WeCom webhook")
        send_wecom(ch.wecom_webhook, n.body)


def failed(s: Session, d_id: str, reason: str) -> None:
    """Back to pending with a growing delay (30 s doubling, at most an hour), or given up after MAX_ATTEMPTS."""
    d = s.get_one(Delivery, d_id)
    d.last_error = reason[:500]
    if d.attempts >= MAX_ATTEMPTS:
        d.status = "failed"
    else:
        d.status = "pending"
        d.next_at = utcnow() + min(timedelta(seconds=30 * 2 ** (d.attempts - 1)), timedelta(hours=1))


def sent(s: Session, d_id: str) -> bool:
    """Marked sent (unless something else changed it meanwhile)."""
    d = s.get_one(Delivery, d_id)
    if d.status != "sending":
        return False
    d.status, d.sent_at, d.last_error = "sent", utcnow(), None
    return True
