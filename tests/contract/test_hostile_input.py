"""Hostile input gets a 4xx and writes nothing, on every operation of every service.

The operations come from the services' OpenAPI documents: NUL characters, lone surrogates,
non-UTF-8 and 50k-deep JSON are refused at the edge whatever the endpoint; page numbers and other
integers past 2^63 or below their minimum, dates like 9999-12-31 or 0001-01-01, date-times whose
UTC instant overflows, months like 0000-01, time zones the tz database does not know and strings
longer than the field's column are refused by the schemas' own bounded fields (shared.fields),
naming the field.
"""
from __future__ import annotations

import json

import pytest

from shared.config import SERVICES

from .openapi import SUMMARY, census, documents, operations

#: tried in order until one may call the operation (the bounds are checked after the role)
CALLERS = ("hq.admin", "cc.agent1", "sh-toyota-pd.manager", "sh-toyota-pd.sales1")
HQ = "hq.admin"

HOSTILE_BODIES = {
    "NUL in a string": json.dumps({"name": "a\u0000b", "note": "x"}),
    "NUL in a key": json.dumps({"a\u0000b": 1}),
    "lone surrogate": '{"name": "a\\ud800b"}',
    "lone low surrogate in a list": '{"tags": ["\\udfff"]}',
    "50k-deep JSON": "[" * 50_000 + "]" * 50_000,
    "50k-deep objects": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "NaN": '{"value": NaN}',
    "Infinity": '{"value": -Infinity}',
    "number out of float range": '{"value": 1e999}',
    "integer of 5000 digits": '{"value": ' + "9" * 5000 + "}",
    "not UTF-8": b'{"name": "\xff\xfe"}',
}
HOSTILE_QUERIES = {
    "NUL": "q=a%00b",
    "NUL in a name": "a%00=1",
    "lone surrogate (CESU-8 bytes)": "q=%ED%A0%80",
    "not UTF-8": "q=%FF%FE",
}
HUGE = (2**63, 2**64 + 1, 10**30, -(2**63) - 1)
BAD_DATES = ("9999-12-31", "0001-01-01")
BAD_DATETIMES = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T00:00:00+00:00")


@pytest.fixture(scope="module")
def docs(api):
    return documents(api.client)


@pytest.fixture(scope="module")
def quiet(platform, api):
    """Tokens fetched and every event consumed, so that only the requests under test could write."""
    for user in CALLERS:
        api.token(user)
    platform.wait_until_consumed()
    return platform


def _call(api, op, user, *, query: str = "", body=None, raw=None):
    headers = api.headers(user)
    kw = {"headers": headers}
    if raw is not None:
        kw.update(data=raw, content_type="application/json")
    elif body is not None:
        kw.update(json=body)
    return api.client.open(op.url(query=query), method=op.method.upper(), **kw)


def _as_allowed(api, op, **kw):
    """The answer for the first caller whose role may call the operation (None if none may)."""
    for user in CALLERS:
        r = _call(api, op, user, **kw)
        if r.status_code != 403:
            return user, r
    return None, None


def _refused_at_the_edge(r) -> bool:
    return r.status_code == 400 and r.json["code"] == "bad_request"


@pytest.mark.parametrize("svc", SERVICES)
def test_hostile_json_is_refused_before_any_view(api, docs, quiet, svc):
    before = census(quiet)
    tried = []
    for op in operations(docs, svc):
        if not op.writes:
            continue
        for label, raw in HOSTILE_BODIES.items():
            r = _call(api, op, HQ, raw=raw)
            tried.append(label)
            assert _refused_at_the_edge(r), (str(op), label, r.status_code, r.get_data(as_text=True)[:300])
        for key in ("k" * 81, "a\x01b", "", "clé"):
            r = api.client.open(op.url(), method=op.method.upper(), json={},
                                headers={**api.headers(HQ), "Idempotency-Key": key})
            assert _refused_at_the_edge(r), (str(op), "Idempotency-Key", repr(key), r.status_code)
    assert tried, f"{svc} has no operation with a body"
    assert census(quiet) == before, "a refused request wrote something"


@pytest.mark.parametrize("svc", SERVICES)
def test_hostile_query_strings_and_paths_are_refused(api, docs, quiet, svc):
    before = census(quiet)
    ops = list(operations(docs, svc))
    for op in ops:
        for label, query in HOSTILE_QUERIES.items():
            r = _call(api, op, HQ, query=query)
            assert _refused_at_the_edge(r), (str(op), label, r.status_code, r.get_data(as_text=True)[:300])
        if op.id_params:
            url = op.url({op.id_params[0]: "a%00b"})
            r = api.client.open(url, method=op.method.upper(), headers=api.headers(HQ))
            assert _refused_at_the_edge(r), (str(op), "NUL in the path", r.status_code)
    assert census(quiet) == before


def _bounded_cases(op) -> list[tuple[str, str, object]]:
    """(where, field, hostile value) for every integer, date, date-time, month, time zone and bounded string."""
    cases = []
    for where, fields in (("query", op.query_params), ("json", op.body_fields)):
        for name, schema in fields.items():
            kind, fmt = schema.get("type"), schema.get("format")
            if kind == "integer":
                cases += [(where, name, v) for v in HUGE]
                if "minimum" in schema:
                    cases.append((where, name, schema["minimum"] - 1))
            elif kind == "string" and fmt == "date":
                cases += [(where, name, v) for v in BAD_DATES]
            elif kind == "string" and fmt == "date-time":
                cases += [(where, name, v) for v in BAD_DATETIMES]
            elif name == "timezone":
                cases += [(where, name, "Mars/Olympus"), (where, name, "x" * 61)]
            elif name == "month":
                cases += [(where, name, v) for v in ("0000-01", "9999-12", "2026-13")]
            elif kind == "string" and "maxLength" in schema and "enum" not in schema:
                cases.append((where, name, "x" * max(schema["maxLength"] + 1, 10_000)))
    return cases


@pytest.mark.parametrize("svc", SERVICES)
def test_out_of_range_numbers_dates_and_lengths_are_422_naming_the_field(api, docs, quiet, svc):
    before = census(quiet)
    checked = 0
    for op in operations(docs, svc):
        for where, name, value in _bounded_cases(op):
            if where == "query":
                user, r = _as_allowed(api, op, query=f"{name}={value}")
            else:
                user, r = _as_allowed(api, op, body={name: value})
            if user is None:
                continue
            detail = (str(op), where, name, str(value)[:40], r.status_code, r.get_data(as_text=True)[:300])
            assert r.status_code == 422, detail
            assert r.json["code"] == "validation_error" and name in r.json["errors"], detail
            checked += 1
    SUMMARY.append(f"hostile input, {svc}: {checked} out-of-range values refused with a 422 naming the field")
    assert census(quiet) == before


def test_page_numbers_past_2_63_zero_and_negative_are_422_on_every_list(api, docs, quiet):
    lists = [op for op in operations(docs) if "page" in op.query_params]
    assert {op.service for op in lists} >= {"leads", "customers", "callcenter"}
    for op in lists:
        for page in (2**63, 2**63 + 1, 10**40, 0, -1):
            user, r = _as_allowed(api, op, query=f"page={page}&per_page=200")
            assert user is not None and r.status_code == 422 and "page" in r.json["errors"], (str(op), page)
