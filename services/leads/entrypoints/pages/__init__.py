"""Leads pages: consultants (my leads, lead detail, visitor log, daily report) and managers (board, ...)."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, flash, g
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from shared import clock
from shared.db import utcnow
from shared.errors import Forbidden, NotFound, UserError
from shared.permissions import can
from shared.privacy import sees_full_phone, shown_phone

from ...domain import ALL_SIGNALS, DEFEAT_REASONS, FOLLOW_UP_KINDS, GRADABLE, LEVELS, OUTCOMES, PAYMENT_METHODS, SIGNALS
from .labels import ALL, label

bp = Blueprint("leads_pages", __name__, url_prefix="/leads")
TZ = clock.zone()


def db():
    return current_app.extensions["crm"].db


def store_page(fn):
    """A store's own page (board, card audit, funnel, visitor log): HQ roles, who have no home store, get
    the 403 page. Goes under `page(action)`, which has checked the role."""

    @wraps(fn)
    def wrapper(*a, **kw):
        if not g.principal.home_store:
            raise Forbidden("this page belongs to a store: open it as one of the store's staff")
        return fn(*a, **kw)

    return wrapper


def home_store(s, p):
    """The caller's own store (a store page's subject)."""
    from ...adapters.models import StoreRef

    store = s.get(StoreRef, p.home_store) if p.home_store else None
    if store is None:
        raise NotFound("store")
    return store


def today_local():
    return utcnow().astimezone(TZ).date()


#: the form fields a reason may name, as the page calls them
FIELD_NAMES = {"vin": "VIN", "reason": _l("Reason"), "note": _l("Note"), "price": _l("Price (¥)"),
               "deposit": _l("Deposit (¥)"), "model": _l("Model"), "phone": _l("Mobile"), "name": _l("Name"),
               "level": _l("Level"), "delivered_on": _l("Delivered on"), "booked_for": _l("Date"),
               "next_planned_at": _l("Next contact (date)"), "expected_delivery": _l("Expected delivery"),
               "changes": _l("Figure"), "day": _l("Day"), "competitor_brand": _l("Competitor brand"),
               "competitor_model": _l("Competitor model"), "aliases": _l("Other names"), "file": _l("File"),
               "guide_price": _l("Guide price (¥)"), "brand_id": _l("Brand")}


def form_errors(exc: ValidationError | Exception) -> None:
    """Flash a failed form's reasons (field errors of the schema, or the message of a `UserError`), in the
    reader's language where the catalog has the reason (the rules speak English to API clients)."""
    if isinstance(exc, UserError):
        msg = exc.data["message"]
        errs = exc.data.get("errors") or {}
    elif isinstance(exc, ValidationError):
        msg, errs = "", exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
    else:
        msg, errs = str(exc), {}

    def said(v) -> str:
        return "；".join(gettext(str(x)) for x in v) if isinstance(v, list) else gettext(str(v))

    parts = [f"{FIELD_NAMES.get(k, k)}: {said(v)}" if k else said(v) for k, v in errs.items()]
    flash("; ".join([m for m in [gettext(msg) if msg else "", *parts] if m]), "error")


@bp.app_context_processor
def _vocab():
    return {"L": label, "LABELS": ALL,
            "LEVELS": LEVELS, "GRADABLE": GRADABLE, "SIGNALS": SIGNALS, "ALL_SIGNALS": ALL_SIGNALS,
            "FOLLOW_UP_KINDS": FOLLOW_UP_KINDS, "OUTCOMES": OUTCOMES, "DEFEAT_REASONS": DEFEAT_REASONS,
            "PAYMENT_METHODS": PAYMENT_METHODS, "now_utc": utcnow(),
            "is_manager": bool(g.get("principal") and can(g.principal.role, "leads.manage")),
            "phone_of": _phone_of, "sees_phone": _sees_phone}


def _phone_of(lead) -> str | None:
    """A lead's number as the signed-in viewer may see it (whole or masked, shared.privacy)."""
    return shown_phone(g.get("principal"), lead.phone, lead.holder)


def _sees_phone(lead) -> bool:
    return bool(lead.phone) and sees_full_phone(g.get("principal"), lead.holder)


from . import catalogue, consultant, manager  # noqa: E402,F401  (views register themselves on bp)
