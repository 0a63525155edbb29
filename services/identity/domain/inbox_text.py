"""What an inbox item says, in the reader's language: a title per kind and a line of detail.

`describe(kind, data, gettext)` takes the translation function of wherever it is shown (a page's
Flask-Babel, the delivery worker's catalogue for the user's language); the msgids are in
services/identity/translations.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared import clock

TITLES = {
    "lead_new": "New lead: %(name)s",
    "lead_reassigned": "A lead was given to you",
    "lead_due": "Contact due on %(due_on)s: %(name)s",
    "lead_unassigned": "New lead without a consultant: %(name)s",
    "defeat_sent_back": "Your defeat proposal was sent back",
    "defeat_approved": "Defeat approved: %(name)s",
    "defeat_decide": "A defeat waits for your decision",
    "first_response_breach": "First response later than the SLA",
    "report_late": "Daily report submitted late (%(day)s)",
    "report_missing": "Daily report missing (%(day)s)",
    "compliance_alert": "%(store)s: %(missing)s daily reports missing on %(day)s",
    "report_amendment": "Daily report amendment to review (%(day)s)",
    "complaint": "Complaint to handle: %(name)s",
    "complaint_sla": "Complaint past its SLA: %(name)s",
    "callback_due": "Promised call-back at %(callback_at)s",
}
#: detail line: the field shown under the title, with its label
DETAILS = {
    "defeat_sent_back": ("note", "Manager's note: %(value)s"),
    "complaint": ("summary", "%(value)s"),
    "complaint_sla": ("summary", "%(value)s"),
    "lead_due": ("overdue_at", "Overdue from %(value)s"),
    "report_amendment": ("reason", "Reason: %(value)s"),
    "amendment_decided": ("note", "Manager's note: %(value)s"),
}
#: a stored code shown in a title, by field (its words are translated too)
SOURCES_UNKNOWN = "—"


def _when(value: str | None) -> str:
    """An ISO instant as 'YYYY-MM-DD HH:MM' (UTC+8, the groups' time; the page shows local time)."""
    if not value:
        return SOURCES_UNKNOWN
    try:
        return datetime.fromisoformat(value).astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


def overdue(data: dict, now: datetime) -> bool:
    """A lead's contact is overdue (its `overdue_at` has passed)."""
    try:
        return bool(data.get("overdue_at")) and datetime.fromisoformat(data["overdue_at"]) <= now
    except (TypeError, ValueError):
        return False


def describe(kind: str, data: dict, gettext: Callable[[str], str]) -> tuple[str, str]:
    params = {k: (v if v not in (None, "") else SOURCES_UNKNOWN) for k, v in data.items()}
    params.setdefault("name", SOURCES_UNKNOWN)
    if "callback_at" in data:
        params["callback_at"] = _when(data.get("callback_at"))
    if kind == "amendment_decided":  # the answer is the news
        title = gettext("Amendment approved (%(day)s)" if data.get("approved") else "Amendment rejected (%(day)s)")
    else:
        title = gettext(TITLES.get(kind, kind))
    try:
        title = title % params
    except (KeyError, ValueError, TypeError):
        pass
    detail = ""
    if kind in DETAILS:
        field, text = DETAILS[kind]
        value = data.get(field)
        if value:
            value = _when(value) if field.endswith("_at") else value
            detail = gettext(text) % {"value": value}
    return title, detail
