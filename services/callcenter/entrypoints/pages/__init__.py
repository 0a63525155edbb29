"""Call-center pages: the agent workbench, the supervisor board, the questionnaire designer, complaints,
spot checks, rules, and the customer's public survey page."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, current_app, g
from sqlalchemy.orm import Session

from shared.permissions import can
from shared.uow import UnitOfWork

from ... import labels

bp = Blueprint("callcenter_pages", __name__, url_prefix="/callcenter")


def rt():
    return current_app.extensions["crm"]


def work() -> UnitOfWork:
    """A unit of work in the signed-in user's scope: nothing is saved unless the page commits."""
    return rt().uow(g.principal.scope)


@contextmanager
def reading() -> Iterator[Session]:
    """A read in the signed-in user's scope: what it loaded stays readable after the unit of work rolls back."""
    with work() as uow:
        yield uow.session
        uow.session.expunge_all()


def may(action: str) -> bool:
    """The signed-in user's role may do `action` (what a page offers follows the permission table)."""
    p = g.get("principal")
    return p is not None and can(p.role, action)


def reason(exc) -> str:
    """A refused request's message with its per-field reasons, to show beside the form."""
    data = exc.data
    errors = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in (data.get("errors") or {}).items())
    return f"{data['message']}{' — ' + errors if errors else ''}"


@bp.app_context_processor
def _labels():
    return {"L": labels, "cc_tabs": _tabs(), "may": may}


def _tabs() -> list[tuple[str, object]]:
    from flask_babel import lazy_gettext as _l

    if not may("callcenter.board"):
        return []
    tabs = [("/callcenter/board", _l("Board")), ("/callcenter/questionnaires", _l("Questionnaires")),
            ("/callcenter/rules", _l("Rules and settings")), ("/callcenter/spot-checks", _l("Spot checks")),
            ("/callcenter/complaints", _l("Complaints"))]
    return tabs


from . import board, complaints, public, workbench  # noqa: E402,F401  (register the pages)
