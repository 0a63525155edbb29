"""The platform clock moved through the public API, in embedded mode only (issue 13, point 9)."""
from __future__ import annotations

from shared import clock
from tests.conftest import store_id
from tests.service.test_one_truth import ANALYTICS, HQ, LEADS, ME, MGR, STORE, compliance, leads_overdue, new_lead
from tests.service.test_one_truth import signed_in  # noqa: F401  (autouse: tokens first, the clock put back)


def test_the_clock_moves_through_the_api_in_embedded_mode_only(api, platform):
    """A deadline met as a user meets it: HQ moves the clock, a lead becomes overdue in leads and in analytics."""
    from dataclasses import replace

    assert api.put(f"{ANALYTICS}/clock", as_=MGR, json={"advance_seconds": 60}).status_code == 403
    assert api.put(f"{ANALYTICS}/clock", as_=HQ, json={}).status_code == 422
    lead = new_lead(api)  # N: due tomorrow, overdue from the day after's midnight
    assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["overdue"] is False
    r = api.put(f"{ANALYTICS}/clock", as_=HQ, json={"advance_seconds": 3 * 24 * 3600})
    assert r.status_code == 200 and r.json["frozen"] and r.json["moved"], r.json
    assert api.get(f"{ANALYTICS}/clock", as_=HQ).json["now"] == r.json["now"]  # stopped there
    assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["overdue"] is True
    assert lead in {x["id"] for x in api.get(f"{LEADS}/leads", as_=ME, query_string={
        "overdue": "true", "per_page": 200}).json}
    platform.wait_until_consumed()
    sid = store_id(STORE)
    assert compliance(api)[sid]["overdue_followups"] == leads_overdue(api, sid)
    back = api.delete(f"{ANALYTICS}/clock", as_=HQ)
    assert back.status_code == 200 and not back.json["moved"]
    assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["overdue"] is False
    rt = platform.runtimes["analytics"]
    embedded = rt.settings
    rt.settings = replace(embedded, mode="production")
    try:
        refused = api.put(f"{ANALYTICS}/clock", as_=HQ, json={"advance_seconds": 60})
        assert refused.status_code == 403 and refused.json["code"] == "embedded_only"
        assert not clock.is_moved()
    finally:
        rt.settings = embedded
