"""Bad input answers 4xx JSON with field errors and writes nothing."""
from __future__ import annotations

import pytest

USER = "sh-toyota-pd.sales1"


def _count(api) -> int:
    return len(api.get("/leads/api/v1/leads?per_page=200", as_=USER).json)


@pytest.mark.parametrize("body, field", [
    ({"phone": "13800138001", "source": "walk_in"}, "name"),
    ({"name": "张三", "source": "walk_in"}, "phone"),
    ({"name": "张三", "phone": "13800138001"}, "source"),
    ({"name": "张三", "phone": "13800138001", "source": "telepathy"}, "source"),
    ({"name": "张三", "phone": "12345", "source": "walk_in"}, "phone"),
    ({"name": "张三", "phone": "not a phone", "source": "walk_in"}, "phone"),
    ({"name": "   ", "phone": "13800138001", "source": "walk_in"}, "name"),
    ({"name": 42, "phone": "13800138001", "source": "walk_in"}, "name"),
    ({"name": "x" * 500, "phone": "13800138001", "source": "walk_in"}, "name"),
])
def test_invalid_fields_are_named_in_a_422(api, body, field):
    before = _count(api)
    r = api.post("/leads/api/v1/leads", as_=USER, json=body)
    assert r.status_code == 422
    assert r.json["code"] == "validation_error" and field in r.json["errors"]
    assert _count(api) == before


def test_malformed_json_is_a_400(api):
    before = _count(api)
    r = api.client.post("/leads/api/v1/leads", data="{not json", content_type="application/json",
                        headers=api.headers(USER))
    assert r.status_code in (400, 422) and r.json["code"] in ("bad_request", "validation_error")
    assert _count(api) == before


def test_wrong_content_type_is_a_415(api):
    r = api.client.post("/leads/api/v1/leads", data="name=x&phone=13800138001&source=walk_in",
                        content_type="application/x-www-form-urlencoded", headers=api.headers(USER))
    assert r.status_code == 415 and r.json["code"] == "unsupported_media_type"


def test_oversized_body_is_a_413(api):
    before = _count(api)
    r = api.post("/leads/api/v1/leads", as_=USER,
                 json={"name": "张三", "phone": "13800138001", "source": "walk_in", "model": "x" * 2_000_000})
    assert r.status_code == 413 and r.json["code"] == "payload_too_large"
    assert _count(api) == before


def test_missing_or_broken_token_is_a_401(api):
    assert api.client.get("/leads/api/v1/leads").status_code == 401
    r = api.client.get("/leads/api/v1/leads", headers={"Authorization": "Bearer abc.def.ghi"})
    assert r.status_code == 401 and r.json["code"] == "unauthorized"
    r = api.client.get("/leads/api/v1/leads", headers={"Authorization": "Basic eDp5"})
    assert r.status_code == 401


def test_unknown_store_for_hq_is_a_422(api):
    r = api.post("/leads/api/v1/leads", as_="hq.admin",
                 json={"name": "张三", "phone": "13800138001", "source": "walk_in", "store_id": "nope"})
    assert r.status_code == 422 and "store_id" in r.json["errors"]


@pytest.mark.parametrize("svc", ["identity", "leads", "customers", "callcenter", "analytics"])
def test_every_service_has_health_and_openapi(api, svc):
    assert api.client.get(f"/{svc}/healthz").json == {"status": "ok", "service": svc}
    spec = api.client.get(f"/{svc}/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.") and spec["paths"]
