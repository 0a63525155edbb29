"""Marshmallow fields for business dates: a date or an instant the platform can compute with.

A date typed as 9999-12-31 or 0001-01-01 parses, then overflows the first time it is shifted to a
local time zone or moved by a few days (a due date, a deadline, the local midnight of a report day):
a 500 instead of a clear answer. These fields refuse years outside 1900–2100 at the edge, with a
422 naming the field; no car dealer records a visit, an order or a delivery outside them.
"""
from __future__ import annotations

from datetime import date, datetime

from marshmallow import fields

MIN_YEAR, MAX_YEAR = 1900, 2100
OUT_OF_RANGE = f"must be between {MIN_YEAR} and {MAX_YEAR}"


def in_range(value: date | datetime) -> bool:
    """A date or instant the platform can shift by time zones and days without overflowing."""
    return MIN_YEAR <= value.year <= MAX_YEAR


class BoundedDate(fields.Date):
    """A calendar date (`2026-11-30`) in the years 1900–2100."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def _deserialize(self, value, attr, data, **kwargs) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        if not in_range(day):
            raise self.make_error("out_of_range")
        return day


class BoundedDateTime(fields.AwareDateTime):
    """An instant with its UTC offset (`2026-11-30T10:00:00+08:00`) in the years 1900–2100."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not in_range(moment):
            raise self.make_error("out_of_range")
        return moment
