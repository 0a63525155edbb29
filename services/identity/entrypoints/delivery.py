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

from shared.db import Database, utcnow
from shared.tenancy import Scope

from ..handlers import notices
from ..handlers.todo import NOTICE_CHANNEL

log = logging.getLogger(__name__)


def due_now(db: Database, limit: int = 50) -> tuple[list[tuple[str, str]], float | None]:
    """The (id, group id) of deliveries due now, oldest first, and in how many seconds the next one
    not due yet falls due (None: none is waiting), in one read."""
    with db.reading(Scope.system()) as s:  # a look: ends with ROLLBACK, no commit while idle
        return notices.due(s, utcnow(), limit)


def deliver_due(db: Database, limit: int = 50) -> int:
    """Send the deliveries that are due now; returns how many were sent."""
    return deliver(db, due_now(db, limit)[0])


def deliver(db: Database, due: list[tuple[str, str]]) -> int:
    """Claim and send these deliveries; returns how many were sent."""
    now = utcnow()
    sent = 0
    for d_id, group_id in due:
        with db.session(Scope.system(group_id)) as s:  # claim: only one worker turns it to "sending"
            if not notices.claim(s, d_id, now):
                continue
        try:
            with db.session(Scope.system(group_id)) as s:
                notice = notices.notice_of(s, d_id)
            if notice is None:
                continue
            notices.send(notice)
        except Exception as exc:  # noqa: BLE001 (every failure is retried, then kept with its reason)
            log.warning("delivery %s failed: %s", d_id, exc)
            with db.session(Scope.system(group_id)) as s:
                notices.failed(s, d_id, str(exc))
            continue
        with db.session(Scope.system(group_id)) as s:
            sent += notices.sent(s, d_id)
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
