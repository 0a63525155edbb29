"""A faster `Schema.load` for the event schemas, with marshmallow's own answer whenever it matters.

Every event is validated where it is consumed (`Event.from_message`: the envelope and the payload), and
marshmallow spends about 5 µs a field doing it (a getter closure, an error store, the field's
`deserialize` with its checks, each validator's call). `loader(schema)` compiles a schema once into a
list of plain checks for the field kinds the events use (strings, integers, floats, booleans, ISO dates
and times, dicts, lists of strings, UUIDs, and the Length, Range, OneOf and Regexp validators): each
takes a value of the exact JSON type marshmallow would accept and produces what marshmallow would.

Anything else is not decided here: a value of another type (a number given as a string, "yes" for a
boolean), a value a check refuses, a missing required field, a field of another kind (a Decimal, a
nested schema: marshmallow's own `Field.deserialize` for that field), a schema with hooks. Then the
whole payload is loaded again by `schema.load`, so a message that fails is refused with marshmallow's
exact reasons (the consumers dead-letter it with them), and one it accepts differently is taken as it
takes it. The fast path only ever accepts what marshmallow accepts, as marshmallow loads it
(`tests/unit/test_event_fastload.py` checks both over every registered schema).
"""
from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from marshmallow.utils import missing


class _Slow(Exception):
    """This value is not for the fast path: load the whole payload with marshmallow."""


_SLOW = _Slow()

Convert = Callable[[Any, dict], Any]
Check = Callable[[Any], bool]


def _string(v, _data):
    if type(v) is str:
        return v
    raise _SLOW


def _integer(v, _data):
    if type(v) is int:  # not a bool (marshmallow refuses those), not "3" or 3.0 (it converts: slow path)
        return v
    raise _SLOW


def _float(v, _data):
    if type(v) is float and math.isfinite(v):
        return v
    raise _SLOW


def _boolean(v, _data):
    if v is True or v is False:
        return v
    raise _SLOW


def _date(v, _data):
    if type(v) is str:
        try:
            return date.fromisoformat(v)  # marshmallow's "iso" format is this very function
        except ValueError:
            pass
    raise _SLOW


def _uuid(v, _data):
    if type(v) is str:
        try:
            return uuid.UUID(v)
        except ValueError:
            pass
    raise _SLOW


def _dict(v, _data):
    if type(v) is dict:
        return dict(v)
    raise _SLOW


def _flags(v, _data):
    if type(v) is dict and all(type(k) is str and (x is True or x is False) for k, x in v.items()):
        return dict(v)
    raise _SLOW


def _strings(v, _data):
    if type(v) is list and all(type(x) is str for x in v):
        return list(v)
    raise _SLOW


def _datetime(field: Any) -> Convert:
    aware, zone = isinstance(field, fields.AwareDateTime), getattr(field, "default_timezone", None)

    def convert(v, _data):
        if type(v) is str:
            try:
                ret = datetime.fromisoformat(v)
            except ValueError:
                raise _SLOW from None
            if ret.tzinfo is None or ret.utcoffset() is None:
                if aware:
                    if zone is None:
                        raise _SLOW
                    ret = ret.replace(tzinfo=zone)
            return ret
        raise _SLOW

    return convert


def _plain(field: fields.Field) -> bool:
    """No per-field hooks, an output key without dots: what `_compile_field`'s converters assume."""
    return not field.pre_load and not field.post_load and "." not in (field.attribute or "")


def _converter(field: Any) -> Convert:  # a marshmallow field; its kind's own attributes are read by kind
    kind = type(field)
    iso = getattr(field, "format", None) in (None, "iso", "iso8601")
    if kind is fields.String:
        return _string
    if kind is fields.Integer and not field.strict:
        return _integer
    if kind is fields.Float and not field.allow_nan:
        return _float
    if kind is fields.Boolean and True in field.truthy and False in field.falsy:
        return _boolean
    if kind is fields.Date and iso:
        return _date
    if kind in (fields.DateTime, fields.AwareDateTime) and iso:
        return _datetime(field)
    if kind is fields.UUID:
        return _uuid
    if kind is fields.Dict and field.key_field is None and field.value_field is None \
            and field.mapping_type is dict:
        return _dict
    if kind is fields.Dict and _bare(field.key_field, fields.String) and _bare(field.value_field, fields.Boolean) \
            and True in field.value_field.truthy and False in field.value_field.falsy and field.mapping_type is dict:
        return _flags  # a dict of named flags (a customer's consent)
    if kind is fields.List and type(field.inner) is fields.String and _plain(field.inner) \
            and not field.inner.validators:
        return _strings
    name = field.data_key or field.name

    def generic(v, data):  # marshmallow's own field, its failure the whole payload's slow path
        try:
            return field.deserialize(v, name, data)
        except ValidationError:
            raise _SLOW from None

    return generic


def _bare(field: fields.Field | None, kind: type) -> bool:
    """A key or value field of exactly this kind, with nothing of its own to check or convert."""
    return field is not None and type(field) is kind and _plain(field) and not field.validators \
        and not field.allow_none


def _check(v: Any) -> Check:
    """A validator as a predicate (False: let marshmallow say why)."""
    kind = type(v)
    if kind is validate.Length and v.equal is None:
        lo, hi = v.min, v.max
        return lambda x: (lo is None or len(x) >= lo) and (hi is None or len(x) <= hi)
    if kind is validate.Range:
        lo, hi, lo_inc, hi_inc = v.min, v.max, v.min_inclusive, v.max_inclusive
        return lambda x: (lo is None or (x >= lo if lo_inc else x > lo)) and \
            (hi is None or (x <= hi if hi_inc else x < hi))
    if kind is validate.OneOf:
        choices = v.choices
        return lambda x: x in choices
    if kind is validate.Regexp:
        regex = v.regex
        return lambda x: regex.match(x) is not None

    def call(x):
        try:
            return v(x) is not False
        except ValidationError:
            return False

    return call


def _compile_field(name: str, field: fields.Field):
    key = field.data_key if field.data_key is not None else name
    checks = tuple(_check(v) for v in field.validators)
    return (key, field.attribute or name, _converter(field), field.required, field.load_default, field.allow_none,
            checks)


@cache
def loader(schema: Schema) -> Callable[[Any], dict]:
    """`schema.load` for one schema instance (kept: the instances are the cached ones of
    `shared.events.payload_schema` and the envelope's)."""
    if any(schema._hooks.values()) or schema.many or not all(_plain(f) for f in schema.load_fields.values()):
        return schema.load
    compiled = [_compile_field(name, f) for name, f in schema.load_fields.items()]
    known = frozenset(key for key, *_ in compiled)
    exclude = schema.unknown == EXCLUDE

    def load(data):
        if type(data) is not dict or (not exclude and not known.issuperset(data)):
            return schema.load(data)
        out = {}
        try:
            for key, attr, convert, required, default, allow_none, checks in compiled:
                raw = data.get(key, missing)
                if raw is missing:
                    if required:
                        raise _SLOW
                    if default is not missing:
                        out[attr] = default() if callable(default) else default
                    continue
                if raw is None:
                    if not allow_none:
                        raise _SLOW
                    out[attr] = None
                    continue
                value = convert(raw, data)
                for ok in checks:
                    if not ok(value):
                        raise _SLOW
                out[attr] = value
        except Exception:  # noqa: BLE001 (_Slow, or a check that met a value it cannot compare: marshmallow's say)
            return schema.load(data)
        return out

    return load


# ---- dump ----------------------------------------------------------------------------------------------

def _text(field: fields.Field) -> Callable[[Any, str, Any], Any]:
    """A field's `_serialize`, with String's (`str` of the value, None kept) done here for a str."""
    if type(field) is fields.String:
        def text(v, attr, obj):
            return v if v is None or type(v) is str else field._serialize(v, attr, obj)

        return text
    if type(field)._serialize is fields.Field._serialize:  # Boolean, Raw...: the value as it is
        return lambda v, _attr, _obj: v
    return field._serialize


@cache
def dumper(schema: Schema) -> Callable[[Any], dict]:
    """`schema.dump` of a dict for one schema instance (kept, as `loader`'s): the same calls of each
    field's own `_serialize` with the same values, in the same order, without the layers around them
    (`Field.serialize`, its getter and accessor). A schema with dump hooks, a field that reads no
    attribute or a dotted one, and anything but a dict are dumped by marshmallow itself."""
    if schema._hooks["pre_dump"] or schema._hooks["post_dump"] or schema.many or any(
            not f._CHECK_ATTRIBUTE or "." in (f.attribute or name) for name, f in schema.dump_fields.items()):
        return schema.dump
    compiled = [(name, f.attribute or name, f.data_key if f.data_key is not None else name, f.dump_default, _text(f))
                for name, f in schema.dump_fields.items()]

    def dump(obj):
        if type(obj) is not dict:
            return schema.dump(obj)
        out = {}
        for name, attr, key, default, serialize in compiled:
            value = obj[attr] if attr in obj else getattr(obj, attr, missing)  # marshmallow's `get_value`
            if value is missing:
                value = default() if callable(default) else default
                if value is missing:
                    continue
            out[key] = serialize(value, name, obj)
        return out

    return dump
