"""`FastDumpSchema` answers exactly what marshmallow's own dump answers (issue 16).

The reference is marshmallow's `Schema.dump` run on the same schema instance (it goes through
`Schema._serialize`, the per-field `Field.serialize` path); both are compared as Python values and as
the bytes Flask's JSON provider writes, on varied rows: None in every nullable column, naive and aware
date-times in several offsets, dates, Chinese and other non-ASCII text, empty strings, every role's
view of the phone (masked or whole), and no request at all.
"""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from flask import Flask, g
from marshmallow import Schema, fields, post_dump, pre_dump

from services.leads.adapters.models import Lead
from services.leads.schemas import LeadOut
from shared.auth import Principal
from shared.dump import FastDumpSchema

RNG = random.Random(16)
STORES = ("store-a", "store-b")
USERS = ("u-1", "u-2", None)
TEXT = ("张三", "李四 先生", "Zoë O'Brien", "", "  spaced  ", "emoji 🚗", "引号\"和\\反斜杠", "x" * 120)
ZONES = (UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30)), None)


def maybe(value, p_none: float = 0.4):
    return None if RNG.random() < p_none else value


def moment() -> datetime:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=RNG.randrange(0, 400 * 86400),
                                                      microseconds=RNG.choice((0, 1, 999999)))
    zone = RNG.choice(ZONES)
    return at.replace(tzinfo=None) if zone is None else at.astimezone(zone)


def lead() -> Lead:
    overdue = RNG.choice((None, datetime.now(UTC) - timedelta(days=3), datetime.now(UTC) + timedelta(days=3)))
    return Lead(
        id=f"lead-{RNG.randrange(10**6)}", group_id="g-1", store_id=RNG.choice(STORES), brand_id="toyota",
        consultant_id=RNG.choice(USERS), name=RNG.choice(TEXT), phone=maybe("+8613812345678", 0.1),
        source=RNG.choice(("walk_in", "phone_in", "网络")), campaign_id=maybe("camp-1"),
        level=RNG.choice(("N", "C", "B", "A", "H", "O", "F")), model=maybe(RNG.choice(TEXT)),
        model_id=maybe("m-1"), customer_id=maybe("c-1"), note=maybe(RNG.choice(TEXT)),
        created_at=moment(), last_contact_at=maybe(moment()), due_on=maybe(date(2026, 3, RNG.randrange(1, 29))),
        overdue_at=overdue, planned_on=maybe(date(2199, 12, 31)), expected_by=maybe(date(1900, 1, 1)),
        response_due_at=maybe(moment()), first_contact_at=maybe(moment()),
        response_seconds=maybe(RNG.choice((0, 59, 2**31 - 1))), within_sla=RNG.choice((None, True, False)),
        defeat_pending=RNG.choice((True, False, None)),
    )


def principal(role: str, user_id: str = "u-1", stores=frozenset({"store-a"})) -> Principal:
    return Principal(user_id=user_id, username=user_id, group_id="g-1", group_code="demo", role=role,
                     store_ids=stores)


VIEWERS = {
    "consultant u-1": principal("sales_consultant"),
    "consultant u-2": principal("sales_consultant", "u-2"),
    "manager of store-a": principal("store_manager", "m-1"),
    "manager of store-b": principal("store_manager", "m-2", frozenset({"store-b"})),
    "group admin": principal("group_admin", "a-1", None),
    "agent": principal("cc_agent", "u-1", None),
    "nobody signed in": None,
}


@pytest.fixture(scope="module")
def app():
    return Flask(__name__)


def same(app, schema: Schema, obj, many: bool):
    new = schema.dump(obj, many=many)
    old = Schema.dump(schema, obj, many=many)  # marshmallow's own path on the same instance
    assert new == old
    assert app.json.dumps(new).encode() == app.json.dumps(old).encode()
    return new


@pytest.mark.parametrize("who", list(VIEWERS))
def test_the_lead_list_dumps_byte_for_byte_as_marshmallow_does(app, who):
    rows = [lead() for _ in range(200)]
    with app.test_request_context():
        g.principal = VIEWERS[who]
        out = same(app, LeadOut(many=True), rows, many=True)
        same(app, LeadOut(), rows[0], many=False)
    assert len(out) == 200 and list(out[0]) == list(LeadOut().dump_fields)  # every field, in the schema's order
    masked = [r["phone"] for r in out if r["phone"] and "*" in r["phone"]]
    if who in ("group admin", "nobody signed in"):
        assert len(masked) == sum(1 for r in rows if r.phone)  # masking still applies: never whole for them
    assert any(r["name"] == "张三" for r in out)


def lead_rows(leads: list[Lead], reverse: bool = False) -> list:
    """The leads as the API's list reads them: rows of the `listed` columns and the total, from a database
    (`reverse`: rows of another shape, every column of the table in reverse order)."""
    from sqlalchemy import Column, MetaData, Table, create_engine, func, insert, select
    from sqlalchemy.orm import Session

    from services.leads.entrypoints.api.leads import LISTED
    from services.leads.views import listed

    engine = create_engine("sqlite://")
    # the leads table with every column nullable: these leads also try out a missing phone
    table = Table(Lead.__tablename__, MetaData(), *(Column(c.name, c.type) for c in Lead.__table__.columns))
    table.create(engine)
    with Session(engine) as s:
        s.execute(insert(table), [{  # the database keeps aware times (a naive one is UTC)
            c.name: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
            for c in table.columns for v in [getattr(lead, c.name)]} for lead in leads])
        if reverse:
            return s.execute(select(*reversed(table.columns))).all()
        return s.execute(listed(LISTED).add_columns(func.count().over().label("total_found"))).all()


@pytest.mark.parametrize("who", list(VIEWERS))
def test_the_lead_list_as_rows_dumps_as_marshmallow_does(app, who):
    """The API's list dumps the rows of its query (`views.listed_page`), read by position: the same answer as
    marshmallow's, which reads them as attributes, masking by each row's consultant and store included."""
    rows = lead_rows([lead() for _ in range(200)])
    assert len(rows) == 200 and "total_found" in rows[0]._fields
    with app.test_request_context():
        g.principal = VIEWERS[who]
        out = same(app, LeadOut(many=True), rows, many=True)
        same(app, LeadOut(), rows[0], many=False)
    assert list(out[0]) == list(LeadOut().dump_fields)
    whole = {r["id"] for r in out if r["phone"] and "*" not in r["phone"]}
    seen_whole = {"consultant u-1": lambda r: r.consultant_id == "u-1", "consultant u-2": lambda r: r.consultant_id == "u-2",
                  "manager of store-a": lambda r: r.store_id == "store-a",
                  "manager of store-b": lambda r: r.store_id == "store-b"}.get(who, lambda r: False)
    assert whole == {r.id for r in rows if r.phone and seen_whole(r)}


def test_a_list_of_rows_of_several_shapes_and_objects_dumps_as_marshmallow_does(app):
    """Rows of one result share one compiled dump; a row of another result (other columns, in another order),
    or an object, in the middle of the list is dumped by its own shape."""
    first, other, objects = lead_rows([lead() for _ in range(6)]), lead_rows([lead() for _ in range(6)], True), \
        [lead() for _ in range(2)]
    assert first[0]._fields != other[0]._fields
    mixed = [first[0], first[1], other[0], other[1], first[2], objects[0], first[3], other[2], objects[1], other[3]]
    for who in ("consultant u-1", "manager of store-b", "group admin"):
        with app.test_request_context():
            g.principal = VIEWERS[who]
            out = same(app, LeadOut(many=True), mixed, many=True)
        assert [r["id"] for r in out] == [r.id for r in mixed]


def test_no_request_context_masks_like_marshmallow(app):
    rows = [lead() for _ in range(50)]
    out = same(app, LeadOut(many=True), rows, many=True)
    assert all("*" in r["phone"] for r in out if r["phone"])


class Thing:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class Every(FastDumpSchema):
    text = fields.String(allow_none=True)
    renamed = fields.String(data_key="shown_as")
    sourced = fields.Integer(attribute="inner")
    as_text = fields.Integer(as_string=True)
    flag = fields.Boolean(allow_none=True)
    money = fields.Decimal(as_string=True, allow_none=True)
    ratio = fields.Float(allow_none=True)
    when = fields.AwareDateTime(allow_none=True)
    day = fields.Date(allow_none=True)
    when_rfc = fields.DateTime(format="rfc", attribute="when", allow_none=True, dump_only=True)
    when_stamp = fields.AwareDateTime(format="timestamp_ms", attribute="when", allow_none=True, dump_only=True)
    day_custom = fields.Date(format="%d/%m/%Y 日", attribute="day", allow_none=True, dump_only=True)
    defaulted = fields.String(dump_default="fallback")
    absent = fields.String()
    computed = fields.Method("_computed")
    none_method = fields.Method()
    tags = fields.List(fields.String())
    child = fields.Nested(lambda: Child(), allow_none=True)
    raw = fields.Raw(allow_none=True)
    load_only_one = fields.String(load_only=True)

    def _computed(self, obj):
        return f"{getattr(obj, 'text', None)}!"


class Child(FastDumpSchema):
    name = fields.String()


def thing(i: int) -> Thing:
    kw = dict(text=RNG.choice(TEXT + (None, 5, b"bytes")), renamed="名字", inner=RNG.choice((1, True, 2.7, "3")),
              as_text=i, flag=RNG.choice((True, False, None, 1, 0, "yes")),
              money=RNG.choice((Decimal("189800.00"), Decimal("0.1"), None)), ratio=RNG.choice((0.5, 1, None)),
              when=RNG.choice((moment(), None)), day=RNG.choice((date(2026, 5, 1), None)),
              tags=["甲", "b"], child=RNG.choice((Thing(name="子"), None, {"name": "dict child"})),
              raw=RNG.choice(({"a": [1, 2]}, None, "x")), load_only_one="never shown")
    for key in RNG.sample(sorted(kw), 2):
        del kw[key]  # missing attributes: left out, or their dump_default
    return Thing(**kw)


def test_every_kind_of_field_dumps_as_marshmallow_does(app):
    rows = [thing(i) for i in range(300)]
    with app.test_request_context():
        same(app, Every(many=True), rows, many=True)
        same(app, Every(only=("text", "renamed", "computed"), many=True), rows, many=True)
        same(app, Every(exclude=("child",)), rows[3], many=False)


def test_mappings_and_hooks_take_marshmallows_path(app):
    dicts = [{"text": "字典", "renamed": "r", "inner": 4, "as_text": 1, "defaulted": None}, {"text": None}]
    same(app, Every(many=True), dicts, many=True)

    class Hooked(Every):
        @pre_dump
        def _pre(self, obj, **_):
            return obj

        @post_dump
        def _post(self, data, **_):
            return {**data, "hooked": True}

    hooked = Hooked()
    assert hooked._dump_object is None
    assert hooked.dump(thing(1))["hooked"] is True
    assert Every().dump(None) == Schema.dump(Every(), None)
