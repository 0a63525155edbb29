"""Complaints (抱怨/投诉): states, transitions and the SLA per severity."""
from __future__ import annotations

from datetime import datetime, timedelta

SEVERITIES = ("low", "medium", "high")
STATES = ("open", "in_progress", "resolved", "confirmed", "reopened")
ACTIVE = ("open", "in_progress", "reopened")
DEFAULT_SLA_HOURS = {"high": 24, "medium": 72, "low": 168}

#: action → (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "start": (("open", "reopened"), "in_progress"),
    "resolve": (ACTIVE, "resolved"),
    "confirm": (("resolved",), "confirmed"),  # the customer agrees it is solved
    "reopen": (("resolved", "confirmed"), "reopened"),
}


class TransitionRefused(ValueError):
    pass


def next_state(current: str, action: str) -> str:
    if action not in TRANSITIONS:
        raise TransitionRefused(f"unknown action {action}")
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise TransitionRefused(f"a {current} complaint cannot be {target.replace('_', ' ')}")
    return target


def sla_due(severity: str, opened_at: datetime, sla_hours: dict[str, int] | None = None) -> datetime:
    hours = (sla_hours or DEFAULT_SLA_HOURS).get(severity, DEFAULT_SLA_HOURS.get(severity, 72))
    return opened_at + timedelta(hours=int(hours))


def breached(status: str, due_at: datetime, resolved_at: datetime | None, now: datetime) -> bool:
    """Past the SLA: still active after the deadline, or resolved after it."""
    if status in ACTIVE:
        return now > due_at
    return resolved_at is not None and resolved_at > due_at


def severity_for_score(score: float) -> str:
    """The severity of a complaint opened from a low survey score."""
    return "high" if score < 40 else "medium"
