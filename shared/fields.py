"""Bounded request fields for every service's schemas: what a request may carry, said once.

A value outside these bounds is a 422 naming the field, before any handler runs, and the OpenAPI
documents say the same bounds:
- dates between 1900-01-01 and 2199-12-31 (a deadline, a local day turned into UTC, "the same
  month last year" all stay computable: 9999-12-31 + 1 day and 0001-01-01 − 1 day do not);
- date-times with a UTC offset whose UTC instant lies in that range (9999-12-31T23:59-14:00 would
  overflow when it is converted);
- integers within PostgreSQL's `integer` unless a field says narrower; page numbers from 1 to
  `MAX_PAGE` (an offset past 2^63 overflows the database driver, long before anyone pages that far);
- time zones that the tz database knows (a stored `Mars/Olympus` would break every later local time);
- ids as the services issue them (UUID strings, 36 characters), amounts of money with two decimals
  up to ten billion (the money columns are NUMERIC(14,2)).
NUL characters, lone surrogates and absurd nesting never get this far: `shared.input_guard`.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.config import DEFAULT_TIMEZONE

EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
INT_MAX = 2**31 - 1  # PostgreSQL integer
MAX_PAGE = 100_000
MAX_AMOUNT = Decimal("9999999999.99")
ID_LENGTH = 36
_RANGE = f"between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
_YEAR = r"^(19\d\d|2[01]\d\d)-"  # what the bounds say in the documents' terms


def in_range(value: date | datetime) -> bool:
    """A date or instant the platform can shift by time zones and days without overflowing."""
    day = value.astimezone(UTC).date() if isinstance(value, datetime) and value.tzinfo else value
    return EARLIEST <= (day.date() if isinstance(day, datetime) else day) <= LATEST


def _with(kw: dict, *validators) -> dict:
    """`kw` with `validators` added to whatever the field already validates."""
    given = kw.pop("validate", None)
    given = [] if given is None else list(given) if isinstance(given, (list, tuple)) else [given]
    return {**kw, "validate": [*validators, *given]}


class Date(fields.Date):
    """A calendar date within 1900-01-01 … 2199-12-31."""

    default_error_messages = {"out_of_range": f"must be {_RANGE}"}

    def __init__(self, **kw):
        kw["metadata"] = {"pattern": _YEAR, **kw.get("metadata", {})}
        super().__init__(**kw)

    def _deserialize(self, value, attr, data, **kw) -> date:
        day = super()._deserialize(value, attr, data, **kw)
        if not EARLIEST <= day <= LATEST:
            raise self.make_error("out_of_range")
        return day


class AwareDateTime(fields.AwareDateTime):
    """A date-time with its UTC offset, whose UTC instant lies within the date bounds."""

    default_error_messages = {"out_of_range": f"must be {_RANGE} (UTC)"}

    def __init__(self, **kw):
        kw["metadata"] = {"pattern": _YEAR, **kw.get("metadata", {})}
        super().__init__(**kw)

    def _deserialize(self, value, attr, data, **kw) -> datetime:
        moment = super()._deserialize(value, attr, data, **kw)
        try:
            day = moment.astimezone(UTC).date()
        except OverflowError:
            raise self.make_error("out_of_range") from None
        if not EARLIEST <= day <= LATEST:
            raise self.make_error("out_of_range")
        return moment


class Month(fields.String):
    """A calendar month, YYYY-MM, within the date bounds."""

    def __init__(self, **kw):
        super().__init__(**_with(kw, validate.Regexp(_YEAR + r"(0[1-9]|1[0-2])$",
                                                     error=f"use YYYY-MM, e.g. 2026-05, {_RANGE}")))


class TimeZone(fields.String):
    """An IANA time zone name the tz database knows, e.g. Asia/Shanghai."""

    default_error_messages = {"unknown_zone": "unknown time zone: {input}"}
    _known = frozenset(available_timezones())

    def __init__(self, **kw):
        metadata = {"description": "an IANA time zone name", "example": DEFAULT_TIMEZONE, **kw.pop("metadata", {})}
        super().__init__(metadata=metadata, **_with(kw, validate.Length(min=1, max=60)))

    def _deserialize(self, value, attr, data, **kw) -> str:
        zone = super()._deserialize(value, attr, data, **kw)
        if zone not in self._known:
            raise self.make_error("unknown_zone", input=zone[:60])
        return zone


class Integer(fields.Integer):
    """An integer within `minimum` … `maximum` (default: 0 … PostgreSQL's integer maximum)."""

    def __init__(self, *, minimum: int = 0, maximum: int = INT_MAX, **kw):
        super().__init__(**_with(kw, validate.Range(min=minimum, max=maximum)))


class Amount(fields.Decimal):
    """Money in, two decimals, 0 … ten billion; a JSON number or a numeric string."""

    def __init__(self, *, maximum: Decimal = MAX_AMOUNT, **kw):
        super().__init__(places=2, **_with(kw, validate.Range(min=0, max=maximum)))


class Id(fields.String):
    """The id of a record (a UUID string as the services issue them)."""

    def __init__(self, **kw):
        super().__init__(**_with(kw, validate.Length(min=1, max=ID_LENGTH)))


def Page() -> Integer:  # noqa: N802  (a field factory reads like the field it makes)
    """`page`: 1 … `MAX_PAGE`, default 1."""
    return Integer(minimum=1, maximum=MAX_PAGE, load_default=1)


def PerPage(default: int = 50, maximum: int = 200) -> Integer:  # noqa: N802
    """`per_page`: 1 … `maximum`."""
    return Integer(minimum=1, maximum=maximum, load_default=default)


class DayRange(Schema):
    """`from` and `to`, two days of at most `MAX_DAYS` days together (both counted): the period of a
    source's daily counts and of the reconciliation that compares them."""

    MAX_DAYS = 92

    day_from = Date(required=True, data_key="from")
    day_to = Date(required=True, data_key="to")

    @validates_schema
    def _range(self, data, **_):
        if data["day_to"] < data["day_from"]:
            raise ValidationError("to is before from", "to")
        if (data["day_to"] - data["day_from"]).days >= self.MAX_DAYS:
            raise ValidationError(f"at most {self.MAX_DAYS} days at a time", "to")
