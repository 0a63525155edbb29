"""Personal data on every surface (PIPL): who sees a full phone number, and export cells that stay text.

The rule, in one place, for the API, the pages, the CSV/XLSX exports, the call-center lists and the
workbench alike:

| viewer | full number when |
|---|---|
| sales consultant | they own the lead / are the customer's consultant at their store |
| call-center agent | they hold the task (claimed, lease not expired) |
| store manager | their store has its own relationship with the customer (a lead, a sale, a service visit) |
| everyone else (HQ admin and analyst, supervisor) | never: masked; `customers.reveal` shows it once, with a reason, logged |

Each surface describes the record it shows with a `Holder` (whose it is) and asks `shown_phone`;
API schemas use the `MaskedPhone` field, which asks the same function for the signed-in caller.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask.globals import _cv_app, _cv_request
from marshmallow import fields

from shared.auth import Principal
from shared.permissions import AGENT, CONSULTANT, MANAGER
from shared.phones import mask


@dataclass(frozen=True)
class Holder:
    """Who a record with a phone number belongs to, as the masking rule needs it."""

    owner_id: str | None = None  # the consultant who owns the lead or the customer relationship
    store_ids: frozenset[str] = field(default_factory=frozenset)  # stores with their own relationship
    held_by: str | None = None  # the agent holding the call task right now

    @classmethod
    def of(cls, owner_id: str | None = None, store_ids: Iterable[str | None] = (), held_by: str | None = None) -> Holder:
        return cls(owner_id, frozenset(s for s in store_ids if s), held_by)


NOBODY = Holder()


def sees_full_phone(p: Principal | None, holder: Holder) -> bool:
    """The masking rule (see the module's table)."""
    if p is None:
        return False
    if p.role == CONSULTANT:
        return holder.owner_id is not None and holder.owner_id == p.user_id
    if p.role == AGENT:
        return holder.held_by is not None and holder.held_by == p.user_id
    if p.role == MANAGER:
        return bool(p.store_ids and holder.store_ids & p.store_ids)
    return False


def shown_phone(p: Principal | None, phone: str | None, holder: Holder) -> str | None:
    """The number as this viewer may see it: whole, or masked ('+86 138****8000')."""
    if not phone:
        return phone
    return phone if sees_full_phone(p, holder) else mask(phone)


def viewer() -> Principal | None:
    """The signed-in caller of the current request (None outside a request: nobody sees full numbers).
    Read from Flask's context variables directly: it is asked once per masked number (50 times for a
    page of leads), where `flask.g` and `has_request_context` each go through a proxy."""
    if _cv_request.get(None) is None:
        return None
    return _cv_app.get().g.get("principal")


class MaskedPhone(fields.String):
    """A phone number in an API response, masked by the rule for the signed-in caller.

    `holder(obj)` describes the record being dumped: `MaskedPhone(holder=lambda lead: Holder.of(
    lead.consultant_id, [lead.store_id]))`.
    """

    def __init__(self, holder: Callable[[Any], Holder], **kw):
        super().__init__(**kw)
        self.holder = holder

    def _serialize(self, value, attr, obj, **kw):
        return shown_phone(viewer(), value, self.holder(obj))


# ---- erasure: what every copy forgets ----------------------------------------------------------------

#: payload and row fields that hold a person's data; an erased person's are replaced everywhere
PERSONAL_FIELDS = frozenset({"name", "customer_name", "phone", "phones", "id_number", "email", "address",
                             "wechat", "plate", "summary", "note", "notes", "comments", "answers", "free_text",
                             "resolution"})


def pseudonym(customer_id: str) -> str:
    """What stands in for an erased person's name: stable per person (counts by person still add up),
    and not derivable back to them (only the record id, which itself holds nothing personal, goes in)."""
    return "已删除-" + hashlib.sha256(customer_id.encode()).hexdigest()[:8]


def forget(data: dict, customer_id: str) -> dict:
    """A payload or a row's JSON with its personal fields replaced (names by the pseudonym, other text, lists
    and objects emptied), also inside nested objects (`leads.lead.updated` carries `changes: {"phone": ...}`).
    Flags and numbers are no one's personal data and stay (`consent: {"phone": true}`)."""
    out = {}
    for key, value in data.items():
        if key not in PERSONAL_FIELDS or not isinstance(value, (str, list, dict)) or not value:
            out[key] = forget(value, customer_id) if isinstance(value, dict) else value
        elif key in ("name", "customer_name"):
            out[key] = pseudonym(customer_id)
        else:
            out[key] = type(value)()
    return out


# ---- exports: cells a spreadsheet must not run --------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9 ().*]*")  # a phone ('+86 138****8000') or an amount: no function to call


def safe_cell(value):
    """A CSV/XLSX cell that a spreadsheet shows as text: a leading `= + - @` (or tab/CR) would make
    Excel or WPS evaluate `=HYPERLINK(...)` typed into a customer's name, so such text gets a
    leading apostrophe (OWASP's advice for CSV injection). Phone numbers, numbers and dates pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(row: Iterable) -> list:
    return [safe_cell(v) for v in row]
