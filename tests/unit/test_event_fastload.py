"""The compiled loader of the event schemas (`shared.events.fastload`) answers exactly as marshmallow does."""
from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from marshmallow import ValidationError, fields

from shared.events import _ENVELOPE, Event, known_types, payload_schema
from shared.events.fastload import dumper, loader

#: values of every JSON type, right and wrong, for any field
POOL = [None, "", "x", "a" * 36, "a" * 37, "2026-12-01", "2026-13-01", "2026-12-01T08:00:00+08:00",
        "2026-12-01T08:00:00", "2026-12-01T08:00:00Z", "soon", str(uuid.UUID(int=5)), "true", "1", "12.50",
        "N", "walk_in", 0, 1, -1, 3, 10**30, 1.5, 2.0, float("nan"), float("inf"), True, False, {}, {"k": 1},
        [], ["a"], [1], ["a", None], {"phone": True, "sms": False}, {"phone": 1}, {"phone": None}, {"phone": "true"}]
MISSING = object()


def typical(field: fields.Field):
    """A value the field's kind takes, mostly."""
    if isinstance(field, fields.AwareDateTime | fields.DateTime):
        return "2026-12-01T08:00:00+08:00"
    if isinstance(field, fields.Date):
        return "2026-12-01"
    if isinstance(field, fields.Boolean):
        return True
    if isinstance(field, fields.Integer):
        return 3
    if isinstance(field, fields.Float):
        return 2.5
    if isinstance(field, fields.Decimal):
        return "12.50"
    if isinstance(field, fields.UUID):
        return str(uuid.uuid4())
    if isinstance(field, fields.Dict):
        return {"k": 1} if field.value_field is None else {"phone": True, "wechat": False}
    if isinstance(field, fields.List):
        return ["a"]
    if isinstance(field, fields.Nested):
        return {}
    return "abc"


def payloads(rng: random.Random, by_key: dict[str, fields.Field], typical_share: float, missing_share: float,
             pool: list):
    """300 payloads of the fields (by the key they go under): each value typical of its field, missing, or
    any of `pool`; one in five with an unknown field too."""
    for _ in range(300):
        data = {}
        for key, field in by_key.items():
            pick = rng.random()
            value = typical(field) if pick < typical_share else MISSING if pick < typical_share + missing_share \
                else rng.choice(pool)
            if value is not MISSING:
                data[key] = value
        if rng.random() < 0.2:
            data["unknown_field"] = "dropped"
        yield data


def outcome(load, data):
    try:
        return "ok", repr(load(data))  # the values, their types and time zones, the keys' order
    except ValidationError as exc:
        return "refused", repr(exc.normalized_messages())


SCHEMAS = [pytest.param(payload_schema(t, v), id=f"{t}.v{v}") for t, v in known_types()] + \
    [pytest.param(_ENVELOPE, id="envelope")]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_compiled_loader_accepts_and_refuses_what_marshmallow_does_and_loads_it_alike(schema):
    """Payloads made of right and wrong values for every field of every registered schema (and the
    envelope): the compiled loader's result, or its refusal with the reasons, is marshmallow's."""
    fast, accepted, refused = loader(schema), 0, 0
    for data in payloads(random.Random(16), {f.data_key or name: f for name, f in schema.load_fields.items()},
                         typical_share=0.75, missing_share=0.07, pool=POOL):
        got, want = outcome(fast, data), outcome(schema.load, data)
        assert got == want, data
        accepted += got[0] == "ok"
        refused += got[0] == "refused"
    assert outcome(fast, ["not", "a", "mapping"]) == outcome(schema.load, ["not", "a", "mapping"])
    assert refused, "every schema refuses something among the wrong values"


def test_most_payloads_take_the_compiled_path_and_a_message_still_round_trips():
    """The typical values load without marshmallow's `load` (the point of it), and an event's wire form
    loads back to the same event."""
    ev = Event(type="leads.lead.created", group_id="g1", store_id="s1",
               data={"lead_id": "L1", "name": "张三", "phone": "+8613800138000", "source": "walk_in", "due_on": None})
    message = ev.to_message()
    schema = payload_schema(ev.type, ev.version)
    assert loader(schema) is not schema.load and loader(_ENVELOPE) is not _ENVELOPE.load
    back = Event.from_message(message)
    assert (back.id, back.type, back.group_id, back.store_id, back.occurred_at) == \
        (ev.id, ev.type, ev.group_id, ev.store_id, ev.occurred_at)
    assert back.data == schema.load(message["data"])


#: what producers put in a payload before it is dumped: the JSON types and the Python values beside them
DUMP_POOL = [*POOL, date(2026, 12, 1), datetime(2026, 12, 1, 8, tzinfo=UTC), Decimal("12.50"), uuid.UUID(int=7),
             {"phone": True, "sms": False}, ("a", "b")]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_compiled_dumper_writes_what_marshmallow_does(schema):
    """Payloads of typical, missing and odd values for every field of every registered schema (and the
    envelope): the compiled dump is marshmallow's, to the byte of its JSON, or fails as it fails."""
    fast = dumper(schema)
    for data in payloads(random.Random(17), {f.attribute or name: f for name, f in schema.fields.items()},
                         typical_share=0.6, missing_share=0.15, pool=DUMP_POOL):
        assert dump_outcome(fast, data) == dump_outcome(schema.dump, data), data


def dump_outcome(dump, data):
    try:
        out = dump(data)
    except Exception as exc:  # noqa: BLE001 (the same failure is the answer)
        return "failed", type(exc).__name__
    return "ok", repr(out), json.dumps(out, ensure_ascii=False, default=str)
