"""Notices of inbox items on the channels beyond the inbox: e-mail (SMTP) and the group's WeCom robot.

The identity worker (its outbox relay, `NotifyingRelay`) runs `deliver_due` every few seconds. A
delivery row is unique per item, channel and round; it is claimed (pending → sending, a compare and
set, so that two workers never take the same row), sent, then marked sent. A failure goes back to
pending with a growing delay (30 s doubling, at most an hour) and is given up (failed, kept with its
error) after MAX_ATTEMPTS. A claim left behind by a crashed worker is taken again after CLAIM_TIMEOUT.
A delivery whose item was closed meanwhile is dropped (status skipped); one due in the user's quiet
hours waits until they end.
"""
from __future__ import annotations

import logging
import smtplib
import threading
import time
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import requests
from babel.support import Translations
from sqlalchemy import CursorResult, or_, select, update

from shared.bus.relay import Relay
from shared.db import Database, utcnow
from shared.tenancy import Scope

from ..domain.inbox_text import describe
from ..adapters.models import Delivery, GroupChannels, TodoItem, User
from ..handlers.todo import not_quiet, settings_of

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


def deliver_due(db: Database, limit: int = 50) -> int:
    """Send the deliveries that are due now; returns how many were sent."""
    now = utcnow()
    with db.session(Scope.system()) as s:
        due = s.execute(select(Delivery.id, Delivery.group_id).where(or_(
            (Delivery.status == "pending") & (Delivery.next_at <= now),
            (Delivery.status == "sending") & (Delivery.next_at <= now - CLAIM_TIMEOUT)))
            .order_by(Delivery.next_at).limit(limit)).all()
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


class NotifyingRelay(Relay):
    """Identity's outbox relay, which also sends the inbox's notices: every DELIVERY_POLL seconds, in a
    thread of its own (a slow SMTP server does not hold back the outbox)."""

    DELIVERY_POLL = 2.0

    def __init__(self, db: Database, *a, **kw):
        super().__init__(*a, **kw)
        self.db = db
        self.thread: threading.Thread | None = None
        self.last_run = 0.0

    def run_once(self) -> int:
        n = super().run_once()
        busy = self.thread is not None and self.thread.is_alive()
        if not busy and time.monotonic() - self.last_run >= self.DELIVERY_POLL:
            self.last_run = time.monotonic()
            self.thread = threading.Thread(target=self._deliver, name="identity-deliveries", daemon=True)
            self.thread.start()
        return n

    def _deliver(self) -> None:
        try:
            deliver_due(self.db)
        except Exception:  # the next tick tries again
            log.exception("identity: deliveries failed")

    def run_forever(self, idle: float | None = None) -> None:
        super().run_forever(idle=self.DELIVERY_POLL if idle is None else min(idle, self.DELIVERY_POLL))
