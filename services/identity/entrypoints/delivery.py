"""Notices of inbox items on the channels beyond the inbox: e-mail (SMTP) and the group's WeCom robot.

The identity worker runs them (`NoticeQueue`, one of its queued commands: `shared.service.Commands`):
it wakes when a commit schedules a delivery (`NOTICE_CHANNEL`, `shared.wake`), when the earliest
pending one falls due (a retry, the end of quiet hours), or at the fallback poll. A delivery row is
unique per item, channel and round; it is claimed (pending → sending, a compare and set, so that two
workers never take the same row), sent, then marked sent. A failure goes back to
pending with a growing delay (30 s doubling, at most an hour) and is given up (failed, kept with its
error) after MAX_ATTEMPTS. A claim left behind by a crashed worker is taken again after CLAIM_TIMEOUT.
A delivery whose item was closed meanwhile is dropped (status skipped); one due in the user's quiet
hours waits until they end.
"""
from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import requests
from babel.support import Translations
from sqlalchemy import CursorResult, func, or_, select, update

from shared.db import Database, utcnow
from shared.tenancy import Scope

from ..domain.inbox_text import describe
from ..adapters.models import Delivery, GroupChannels, TodoItem, User
from ..handlers.todo import NOTICE_CHANNEL, not_quiet, settings_of

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
CLAIM_TIMEOUT = timedelta(minutes=5)
SEND_TIMEOUT = 15  # seconds for one SMTP or HTTP exchange
WECOM_TEXT_LIMIT = 2048  # a robot's text message: at most 2048 bytes of UTF-8
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


class SendFailed(Exception):
    pass


def _translations(language: str):
    return Translations.load(str(TRANSLATIONS), [language, "zh"] if language != "en" else ["en"])


def message_text(item: TodoItem, language: str, public_url: str | None) -> tuple[str, str]:
    """The notice's subject and body in the user's language."""
    tr = _translations(language)
    title, detail = describe(item.kind, item.data or {}, tr.gettext)
    link = (public_url or "").rstrip("/") + item.link
    return title, "\n".join(x for x in (title, detail, link) if x)


def send_email(ch: GroupChannels, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = ch.smtp_sender or f"crm@{ch.smtp_host}"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    try:
        with smtplib.SMTP(ch.smtp_host or "", ch.smtp_port, timeout=SEND_TIMEOUT) as smtp:
            if ch.smtp_starttls:
                smtp.starttls()
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(f"smtp: {exc}") from exc


def send_wecom(webhook: str, content: str) -> None:
    """A WeCom group robot message (text): POST {"msgtype": "text", "text": {"content": ...}}; the robot
    answers {"errcode": 0, "errmsg": "ok"} when it took it."""
    content = content.encode()[:WECOM_TEXT_LIMIT].decode(errors="ignore")
    try:
        r = requests.post(webhook, json={"msgtype": "text", "text": {"content": content}}, timeout=SEND_TIMEOUT)
        answer = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    except (requests.RequestException, ValueError) as exc:
        raise SendFailed(f"wecom: {exc}") from exc
    if r.status_code != 200 or answer.get("errcode") != 0:
        raise SendFailed(f"wecom: HTTP {r.status_code} {r.text[:200]}")


def _send(db: Database, d_id: str, group_id: str) -> None:
    with db.session(Scope.system(group_id)) as s:
        d = s.get_one(Delivery, d_id)
        item = s.get_one(TodoItem, d.item_id)
        if item.done_at is not None or item.round != d.round:
            d.status = "skipped"
            return
        later = not_quiet(s, item.user_id, utcnow())
        if later > utcnow():  # quiet hours began after it was scheduled
            d.status, d.next_at = "pending", later
            return
        ch = s.scalar(select(GroupChannels))
        prefs = settings_of(s, item.user_id)
        user = s.get(User, item.user_id)
        language = prefs.language if prefs is not None else "zh"
        subject, body = message_text(item, language, ch.public_url if ch else None)
        channel, email = d.channel, user.email if user else None
    if ch is None:
        raise SendFailed("the group has no channels configured")
    if channel == "email":
        if not ch.smtp_host or not email:
            raise SendFailed("no SMTP server or no e-mail address")
        send_email(ch, email, subject, body)
    else:
        if not ch.wecom_webhook:
            raise SendFailed("no WeCom webhook")
        send_wecom(ch.wecom_webhook, body)


def due_now(db: Database, limit: int = 50) -> tuple[list[tuple[str, str]], float | None]:
    """The (id, group id) of deliveries due now, oldest first, and in how many seconds the next one
    not due yet falls due (None: none is waiting), in one read."""
    now = utcnow()
    stale = now - CLAIM_TIMEOUT
    pending, sending = Delivery.status == "pending", Delivery.status == "sending"
    with db.reading(Scope.system()) as s:  # a look: ends with ROLLBACK, no commit while idle
        due = s.execute(select(Delivery.id, Delivery.group_id).where(or_(
            pending & (Delivery.next_at <= now), sending & (Delivery.next_at <= stale)))
            .order_by(Delivery.next_at).limit(limit)).all()
        retry = s.scalar(select(func.min(Delivery.next_at)).where(pending))
        claimed = s.scalar(select(func.min(Delivery.next_at)).where(sending))  # a claim, stale this much later
    later = [_aware(t) for t in (retry, claimed and claimed + CLAIM_TIMEOUT) if t is not None]
    wait = max(0.0, (min(later) - now).total_seconds()) if later else None
    return [(r.id, r.group_id) for r in due], wait


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def deliver_due(db: Database, limit: int = 50) -> int:
    """Send the deliveries that are due now; returns how many were sent."""
    return deliver(db, due_now(db, limit)[0])


def deliver(db: Database, due: list[tuple[str, str]]) -> int:
    """Claim and send these deliveries; returns how many were sent."""
    now = utcnow()
    sent = 0
    for d_id, group_id in due:
        with db.session(Scope.system(group_id)) as s:  # claim: only one worker turns it to "sending"
            claimed = cast("CursorResult[Any]", s.execute(update(Delivery).where(
                Delivery.id == d_id, or_(Delivery.status == "pending",
                                         (Delivery.status == "sending") & (Delivery.next_at <= now - CLAIM_TIMEOUT)))
                .values(status="sending", next_at=now, attempts=Delivery.attempts + 1))).rowcount
        if not claimed:
            continue
        try:
            _send(db, d_id, group_id)
        except Exception as exc:  # noqa: BLE001 (every failure is retried, then kept with its reason)
            log.warning("delivery %s failed: %s", d_id, exc)
            with db.session(Scope.system(group_id)) as s:
                d = s.get_one(Delivery, d_id)
                d.last_error = str(exc)[:500]
                if d.attempts >= MAX_ATTEMPTS:
                    d.status = "failed"
                else:
                    d.status = "pending"
                    d.next_at = utcnow() + min(timedelta(seconds=30 * 2 ** (d.attempts - 1)), timedelta(hours=1))
            continue
        with db.session(Scope.system(group_id)) as s:
            d = s.get_one(Delivery, d_id)
            if d.status == "sending":
                d.status, d.sent_at, d.last_error = "sent", utcnow(), None
                sent += 1
    return sent


class NoticeQueue:
    """The identity worker's notice sender, one of its queued commands (`shared.service.Commands`)."""

    channel = NOTICE_CHANNEL

    def __init__(self, db: Database, limit: int = 50):
        self.db, self.limit = db, limit
        self.wait: float | None = None

    def run_once(self) -> bool:
        """Send what is due now; False (and `due_in` says when to look again) if nothing was."""
        due, self.wait = due_now(self.db, self.limit)
        if not due:
            return False
        deliver(self.db, due)
        return True

    def due_in(self) -> float | None:
        return self.wait
