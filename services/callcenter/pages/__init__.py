"""Call-center pages: the agent workbench, the supervisor board, the questionnaire designer, complaints,
spot checks, rules, and the customer's public survey page."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g

from .. import labels

bp = Blueprint("callcenter_pages", __name__, url_prefix="/callcenter")
AGENTS = ("cc_agent", "cc_supervisor")
SUPERVISORS = ("cc_supervisor", "group_admin")
BOARD = ("cc_supervisor", "group_admin", "hq_analyst")
COMPLAINTS = ("cc_agent", "cc_supervisor", "group_admin", "hq_analyst", "store_manager")
SPOT = ("cc_supervisor", "group_admin", "hq_analyst", "store_manager")


def rt():
    return current_app.extensions["crm"]


def tz() -> ZoneInfo:
    return ZoneInfo(rt().settings.default_timezone)


@bp.app_template_filter("local")
def local_time(value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    """A UTC time in the group's time zone."""
    if value is None:
        return ""
    return value.astimezone(tz()).strftime(fmt)


@bp.app_template_filter("phone")
def phone(value: str | None) -> str:
    """+8613912345678 → +86 139 1234 5678 (easier to read out and dial)."""
    if value and value.startswith("+86") and len(value) == 14:
        return f"+86 {value[3:6]} {value[6:10]} {value[10:]}"
    return value or ""


@bp.app_context_processor
def _labels():
    return {"L": labels, "cc_tabs": _tabs()}


def _tabs() -> list[tuple[str, object]]:
    from flask_babel import lazy_gettext as _l

    p = g.get("principal")
    if p is None or p.role not in BOARD:
        return []
    tabs = [("/callcenter/board", _l("Board")), ("/callcenter/questionnaires", _l("Questionnaires")),
            ("/callcenter/rules", _l("Rules and settings")), ("/callcenter/spot-checks", _l("Spot checks")),
            ("/callcenter/complaints", _l("Complaints"))]
    return tabs


from . import board, complaints, public, workbench  # noqa: E402,F401  (register the pages)
