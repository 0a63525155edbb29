"""Hostile input stops at the edge: one check of every request before any view reads it.

What no field of any service may receive, whatever its schema says:
- a NUL character or a lone UTF-16 surrogate, in a JSON string (key or value), the query string,
  the path or a form field: PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded
  back to UTF-8 (one would only fail later, in the database or in an export);
- a query string or path that is not UTF-8 (werkzeug would quietly replace the bytes);
- JSON nested deeper than `MAX_DEPTH`, `NaN`/`Infinity`, a number too large to be one, or a
  body that is not UTF-8;
- an `Idempotency-Key` that is not 1–80 visible ASCII characters (it is stored; a longer one
  would be cut, and two keys sharing their first 80 characters would collide).
Each is a 400 with the project's error body before any view runs, so nothing is written.
Field bounds (dates, pages, lengths) are the schemas' job: `shared.fields`.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Request

from shared.errors import ApiError

#: deeper than any document the APIs take (a questionnaire: body → questions → options → option)
MAX_DEPTH = 20
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,80}")
JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class HostileInput(ApiError):
    """A request no field may receive: 400 `bad_request`, naming where the problem is."""

    def __init__(self, where: str, why: str):
        super().__init__(400, f"{where}: {why}", "bad_request", {where: [why]})


def check_request(request: Request) -> None:
    """Refuse the request (raise `HostileInput`) if its path, query, JSON body or form holds hostile input."""
    _check_utf8("path", request.environ.get("PATH_INFO", "").encode("latin-1", "replace"))  # already unquoted
    _check_utf8("query", unquote_to_bytes(request.query_string.replace(b"+", b" ")))
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise HostileInput("Idempotency-Key", "use 1 to 80 visible ASCII characters")
    if request.mimetype in JSON_TYPES:
        raw = request.get_data(cache=True)  # within MAX_CONTENT_LENGTH; webargs reads the cached copy
        if raw:
            strict_json(raw)
    elif request.mimetype in FORM_TYPES:
        for key, value in request.form.items(multi=True):
            if _FORBIDDEN.search(key) or _FORBIDDEN.search(value):
                raise HostileInput("form", "a NUL character is not allowed")


def _check_utf8(where: str, raw: bytes) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HostileInput(where, "not valid UTF-8") from None
    if "\x00" in text:
        raise HostileInput(where, "a NUL character is not allowed")


def strict_json(raw: bytes) -> Any:
    """Parse a JSON body the way every API accepts it, or raise `HostileInput`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HostileInput("json", "the body is not valid UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise HostileInput("json", f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # malformed JSON, or an integer with more digits than Python converts
        raise HostileInput("json", f"not valid JSON: {str(exc)[:120]}") from None
    _walk(data)
    return data


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range")
    return value


def _walk(data: Any) -> None:
    """Depth and characters of every string, without recursion (the depth is what is being bounded)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise HostileInput("json", f"nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_text(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def _check_text(value: str) -> None:
    found = _FORBIDDEN.search(value)
    if found:
        what = "a NUL character" if found.group() == "\x00" else "a lone UTF-16 surrogate"
        raise HostileInput("json", f"{what} is not allowed in a string")
