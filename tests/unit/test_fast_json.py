"""Every API answer is written by orjson (`shared.web.FastJSONProvider`): what a client parses must be
exactly what Flask's own provider gave, key order included."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask, jsonify

from shared.web import CrmFlask


@dataclass
class Point:
    x: int
    label: str


ANSWERS = [
    {"b": 1, "a": [1, 2.5, None, True], "c": {"z": "张三", "y": "+86 138****8000"}},
    {"at": datetime(2026, 12, 2, 11, 30, tzinfo=UTC), "day": date(2026, 12, 2), "price": Decimal("189800.00"),
     "id": uuid.UUID("0192c3a4-1234-7abc-8def-0123456789ab"), "point": Point(1, "店")},
    [{"name": "凯美瑞 <b>&'\"", "tabs": "a\tb\nc\u2028"}],
    "plain",
    {"huge": 2 ** 70},  # beyond orjson's 64 bits: Flask's provider writes it
]


@pytest.mark.parametrize("answer", ANSWERS)
def test_the_answer_is_flasks_json_key_order_included(answer):
    fast, flask = CrmFlask("fast"), Flask("flask")
    with fast.app_context():
        ours = jsonify(answer)
    with flask.app_context():
        theirs = jsonify(answer)
    assert ours.mimetype == theirs.mimetype == "application/json"
    assert ours.get_data().endswith(b"\n")
    parsed, expected = json.loads(ours.get_data()), json.loads(theirs.get_data())
    assert parsed == expected
    assert json.dumps(parsed) == json.dumps(expected)  # the same keys in the same (sorted) order


def test_numbers_as_keys_become_strings_as_flask_makes_them():
    """A count keyed by hour or score: the same keys and values (their order is by the text, "10" before
    "9", where Flask's was by the number; a browser orders number-like keys numerically either way)."""
    answer = {10: "ten", 9: "nine", 1: "one"}
    with CrmFlask("fast").app_context():
        ours = json.loads(jsonify(answer).get_data())
    with Flask("flask").app_context():
        theirs = json.loads(jsonify(answer).get_data())
    assert ours == theirs == {"1": "one", "9": "nine", "10": "ten"}


def test_text_is_utf8_not_escaped():
    with CrmFlask("fast").app_context():
        body = jsonify({"name": "张三"}).get_data()
    assert "张三".encode() in body
