"""A marshmallow schema whose dump of plain objects skips the per-field accessor chain (issue 16).

marshmallow dumps each field of each object through `Field.serialize`, `Field.get_value`,
`Schema.get_attribute`, `utils.get_value` and `utils._get_value_for_key` before the field's own
`_serialize`: five calls around one `getattr`. A list of 50 leads of 26 fields is 1,300 of these,
about a quarter of the list's CPU. `FastDumpSchema.dump` gives the same output with one `getattr`
per field:

- it reads the attribute marshmallow would read (`field.attribute` or the field's name) with
  `getattr(obj, key, missing)`, which is what `utils.get_value` does for an object that has no
  `__getitem__` (an ORM row, a dataclass);
- a missing attribute takes the field's `dump_default`, and a field still missing is left out,
  as in `Field.serialize`; a field that reads no attribute (`Method`, `Function`) is given None;
- it calls the field's own `_serialize` (so masking, nested schemas, methods behave as they do
  under marshmallow), except where that is the identity for the value's exact type: a `str` in a
  `String`, an `int` in an `Integer` that is not `as_string`, anything in a field that does not
  format (`Boolean`, `Raw`), and None in all of these; and a `DateTime` or `Date` (None stays None,
  a value goes straight to the formatter marshmallow's `_serialize` would pick, e.g. `isoformat`);
- the key is the field's `data_key` or its name, in marshmallow's order (`dump_fields`).

A SQLAlchemy `Row` (a query of columns, as the API's list of leads runs) is read by position: marshmallow
reads a row's fields as attributes (it tries `row[name]`, which a row refuses, then `getattr`), and a
column's attribute is the value at its position; a name the row does not have, or has twice, is read
with `getattr` as marshmallow would. The list then builds no object per row.

It falls back to marshmallow's own `dump` for whatever it does not cover: a schema with
`pre_dump`/`post_dump` hooks or its own `get_attribute`, a dotted `attribute`, and other objects that
have `__getitem__` (mappings, which marshmallow reads by key first). `tests/unit/test_fast_dump.py`
compares the two on varied rows.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing
from marshmallow.schema import POST_DUMP, PRE_DUMP
from sqlalchemy import Row

_AS_IS = fields.Field._serialize
_TEXT = fields.String._serialize
_NUMBER = fields.Number._serialize
_FORMAT_NUM = fields.Number._format_num
_TEMPORAL = fields.DateTime._serialize  # DateTime's and Date's (their common base's)


def _exact(field: fields.Field) -> type | None:
    """The value type whose values `field._serialize` returns unchanged (`object`: every value), or None."""
    kind = type(field)._serialize
    if kind is _AS_IS:
        return object
    if kind is _TEXT:
        return str
    if (kind is _NUMBER and getattr(type(field), "_format_num", None) is _FORMAT_NUM
            and getattr(field, "num_type", None) is int and not getattr(field, "as_string", False)):
        return int
    return None


def _temporal(field: fields.Field) -> Callable[[Any], Any] | None:
    """For a `DateTime` or `Date` field formatting as marshmallow's own `_serialize` does, the function it
    formats a value with (`SERIALIZATION_FUNCS`, e.g. `datetime.isoformat`), else None."""
    if type(field)._serialize is not _TEMPORAL:
        return None
    return field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)  # type: ignore[attr-defined]


def _slow(name: str, field: fields.Field, exact: type | None) -> Callable[[Any, Any], Any]:
    """The rest of `field.serialize(name, obj)` once `value` was read with `getattr(obj, attr, missing)`."""
    serialize = field._serialize

    def rest(obj, value):
        if value is missing:
            default = field.dump_default
            value = default() if callable(default) else default
            if value is missing:
                return missing
        if value is None and exact is not None:
            return None
        if exact is object or (exact is not None and value.__class__ is exact):
            return value
        return serialize(value, name, obj)

    return rest


def _compile(schema: Schema, positions: dict[str, int] | None = None) -> Callable[[Any], dict]:
    """One function that dumps an object as `schema` would: per field a `getattr` and, when the value
    is not already what the field would return, the field's own path (`_slow`). With `positions` (the
    field names of SQLAlchemy rows of one shape) an attribute that is a column of the row is read by
    its position instead (`row[3]`, what `getattr(row, name)` returns)."""
    env: dict[str, Any] = {"M": missing, "D": schema.dict_class, "str": str, "int": int}
    positions = positions or {}
    lines = ["def dump_one(obj):", "    out = D()"]
    for i, (name, field) in enumerate(schema.dump_fields.items()):
        key = repr(name if field.data_key is None else field.data_key)
        exact = _exact(field)
        env[f"s{i}"], env[f"r{i}"] = field._serialize, _slow(name, field, exact)
        if not field._CHECK_ATTRIBUTE:  # Method, Function: no attribute read
            lines += [f"    v = s{i}(None, {name!r}, obj)", f"    if v is not M: out[{key}] = v"]
            continue
        attr = name if field.attribute is None else field.attribute
        lines.append(f"    v = obj[{positions[attr]}]" if attr in positions else f"    v = getattr(obj, {attr!r}, M)")
        fast = None if exact is None else {object: "v is not M", str: "v is None or v.__class__ is str",
                                           int: "v is None or v.__class__ is int"}[exact]
        env[f"t{i}"] = _temporal(field)
        if env[f"t{i}"] is not None:  # a date or date-time: None stays None, a value goes to marshmallow's formatter
            lines += ["    if v is None:", f"        out[{key}] = None", "    elif v is M:", f"        v = r{i}(obj, v)",
                      f"        if v is not M: out[{key}] = v", "    else:", f"        out[{key}] = t{i}(v)"]
        elif fast is not None:
            lines += [f"    if {fast}:", f"        out[{key}] = v", "    else:", f"        v = r{i}(obj, v)",
                      f"        if v is not M: out[{key}] = v"]
        else:
            lines += [f"    v = r{i}(obj, v)", f"    if v is not M: out[{key}] = v"]
    lines.append("    return out")
    exec(compile("\n".join(lines), f"<dump of {type(schema).__name__}>", "exec"), env)  # noqa: S102  (our own text)
    return env["dump_one"]


class FastDumpSchema(Schema):
    """A `Schema` whose `dump` of objects (not mappings) reads each field with one `getattr`, and of
    SQLAlchemy rows by position; same output."""

    _dump_object: Callable[[Any], dict] | None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        covered = (not self._hooks[PRE_DUMP] and not self._hooks[POST_DUMP]
                   and type(self).get_attribute is Schema.get_attribute
                   and not any("." in (f.attribute or name) for name, f in self.dump_fields.items()))
        self._dump_object = _compile(self) if covered else None
        self._dump_rows: dict[tuple[str, ...], Callable[[Any], dict]] = {}

    def dump(self, obj: Any, *, many: bool | None = None):
        many = self.many if many is None else bool(many)
        if self._dump_object is None or obj is None:
            return super().dump(obj, many=many)
        if many:
            return self._dump_many(obj)
        return self._dump_one(obj)

    def _dump_many(self, objs) -> list[dict]:
        """Each object as `_dump_one` dumps it; consecutive rows of one result (the same `_parent`, the
        result's metadata, so the same field names) share their compiled dump without asking each row
        for its names."""
        out, parent, dump = [], None, None
        for obj in objs:
            if isinstance(obj, Row):
                shape = getattr(obj, "_parent", None)
                if shape is None or shape is not parent:
                    parent, dump = shape, self._row_dumper(obj._fields)
                out.append(dump(obj))  # type: ignore[misc]
            else:
                out.append(self._dump_one(obj))
        return out

    def _dump_one(self, obj: Any) -> dict:
        if isinstance(obj, Row):
            return self._row_dumper(obj._fields)(obj)
        if hasattr(obj, "__getitem__"):
            return super().dump(obj, many=False)
        return self._dump_object(obj)  # type: ignore[misc]

    def _row_dumper(self, names: tuple[str, ...]) -> Callable[[Any], dict]:
        """The dump of rows with these field names, compiled once per shape. marshmallow reads a row's
        fields as attributes (a row refuses a name as an index); a name the row has twice is left to that
        attribute read."""
        dump = self._dump_rows.get(names)
        if dump is None:
            unique = {n: i for i, n in enumerate(names) if names.count(n) == 1}
            dump = self._dump_rows[names] = _compile(self, unique)
        return dump
