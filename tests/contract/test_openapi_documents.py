"""Each service's OpenAPI document is valid and says what goes over the wire.

- valid OpenAPI 3 (openapi-spec-validator): a client generator or a gateway can read it;
- every response of every operation has a schema (errors: the one `ErrorBody`, `code` a string),
  and every operation needs the Bearer token unless it says otherwise (login, the public keys);
- every value a request may carry is bounded: strings by length (or an enum, a format, a pattern),
  numbers by a minimum and a maximum, lists by a number of items. An unbounded field is where a
  50 MB name or a page past 2^63 gets in; shared.fields has the bounded kinds.
"""
from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from shared.config import SERVICES

from .openapi import documents, operations

#: a body kept as the caller sends it (answers keyed by the questionnaire's own question keys)
OPEN_ENDED = {("callcenter", "post", "/callcenter/api/v1/tasks/{task_id}/attempts", "body.answers.*")}


@pytest.fixture(scope="module")
def docs(api):
    return documents(api.client)


@pytest.mark.parametrize("svc", SERVICES)
def test_the_document_is_valid_openapi(docs, svc):
    validate(docs[svc])


@pytest.mark.parametrize("svc", SERVICES)
def test_every_response_is_documented_with_its_schema(docs, svc):
    doc = docs[svc]
    error = doc["components"]["schemas"]["ErrorBody"]
    assert error["properties"]["code"]["type"] == "string"
    assert set(error["required"]) == {"code", "message", "errors"}
    assert doc["security"] == [{"bearer": []}]
    missing = []
    for op in operations(docs, svc):
        responses = op.spec["responses"]
        assert "default" in responses, f"{op}: no error response"
        for status, resp in responses.items():
            resp = doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]] if "$ref" in resp else resp
            if status == "204":
                continue
            if not any("schema" in c for c in resp.get("content", {}).values()):
                missing.append(f"{op} {status}")
    assert not missing, "responses without a schema: " + ", ".join(missing)


def _unbounded(op, schema: dict, where: str, seen: set) -> list[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return []
        seen = seen | {name}
        schema = op.resolve(schema)
    if schema.get("readOnly"):
        return []
    out = []
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            out += _unbounded(op, sub, where, seen)
    kind = schema.get("type")
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            out += _unbounded(op, sub, f"{where}.{name}", seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            out += _unbounded(op, extra, f"{where}.*", seen)
    elif kind == "array":
        if "maxItems" not in schema:
            out.append(f"{where} (a list without maxItems)")
        out += _unbounded(op, schema.get("items", {}), f"{where}[]", seen)
    else:
        out += _unbounded_scalar(schema, kind, where)
    return [x for x in out if (op.service, op.method, op.path, x.split(" (")[0]) not in OPEN_ENDED]


def _unbounded_scalar(schema: dict, kind: str | None, where: str) -> list[str]:
    if kind == "string":
        if not {"maxLength", "enum", "format", "pattern"} & set(schema):
            return [f"{where} (a string without maxLength)"]
    elif kind in ("integer", "number"):
        if "minimum" not in schema or "maximum" not in schema:
            return [f"{where} (a {kind} without minimum and maximum)"]
    elif kind is None and not any(k in schema for k in ("anyOf", "oneOf", "allOf")):
        return [f"{where} (anything)"]
    return []


@pytest.mark.parametrize("svc", SERVICES)
def test_every_request_value_is_bounded(docs, svc):
    found = []
    for op in operations(docs, svc):
        for param in op.parameters:
            if param["in"] == "path":
                continue  # an id in the path is only looked up (an unknown one is a 404), never stored
            found += [f"{op} {x}" for x in _unbounded(op, param.get("schema", {}), f"{param['in']}:{param['name']}",
                                                      set())]
        if op.body_schema is not None:
            found += [f"{op} {x}" for x in _unbounded(op, op.spec["requestBody"]["content"]["application/json"]
                                                      ["schema"], "body", set())]
    assert not found, "unbounded request values:\n" + "\n".join(found)
