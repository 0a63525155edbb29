"""Daily activity reports: counted from activities, final once submitted, amended beside the original, late."""
from __future__ import annotations

from tests.leads.helpers import LEADS, _csrf, browser, events, new_lead, sh

PD = "sh-toyota-pd"


def test_submitted_report_is_locked_amendment_kept_beside_it(api, frozen_clock, platform):
    me = f"{PD}.sales1"
    frozen_clock.travel_to(sh(2026, 11, 20, 10))  # Friday
    lead = new_lead(api, me)["id"]
    for outcome in ("reached", "no_answer"):
        api.post(f"{LEADS}/leads/{lead}/follow-ups", as_=me, json={"kind": "call", "outcome": outcome})
    frozen_clock.travel_to(sh(2026, 11, 20, 17, 30))
    draft = api.get(f"{LEADS}/reports/draft", as_=me, query_string={"day": "2026-11-20"}).json
    assert draft["figures"]["calls"] == 2 and draft["figures"]["reached"] == 1 and draft["figures"]["new_leads"] == 1
    r = api.post(f"{LEADS}/reports", as_=me, json={"day": "2026-11-20", "figures": {"negotiations": 1}})
    assert r.status_code == 201, r.json
    rep = r.json
    assert rep["late"] is False and rep["figures"]["calls"] == 2 and rep["figures"]["negotiations"] == 1
    # locked: no second submission, no edit
    assert api.post(f"{LEADS}/reports", as_=me, json={"day": "2026-11-20"}).status_code == 409
    assert api.put(f"{LEADS}/reports/{rep['id']}", as_=me, json={"figures": {"calls": 9}}).status_code == 409
    # an amendment needs a reason and is kept beside the original
    assert api.post(f"{LEADS}/reports/{rep['id']}/amendments", as_=me,
                    json={"changes": {"calls": 3}, "reason": ""}).status_code == 422
    frozen_clock.travel_to(sh(2026, 11, 20, 19, 0))
    r = api.post(f"{LEADS}/reports/{rep['id']}/amendments", as_=me,
                 json={"changes": {"calls": 3}, "reason": "one call from the showroom phone was not logged"})
    assert r.status_code == 201 and r.json["status"] == "pending"
    # submitted figures are final: the consultant's change waits for the store manager
    got = api.get(f"{LEADS}/reports/{rep['id']}", as_=me).json
    assert got["figures"]["calls"] == 2 and got["effective"]["calls"] == 2
    assert api.post(f"{LEADS}/reports/{rep['id']}/amendments", as_=me,
                    json={"changes": {"calls": 5}, "reason": "and another"}).status_code == 409  # one at a time
    decision = f"{LEADS}/reports/{rep['id']}/amendments/{r.json['id']}/decision"
    assert api.post(decision, as_=me, json={"approve": True}).status_code == 403  # not the consultant's to decide
    d = api.post(decision, as_=f"{PD}.manager", json={"approve": True, "note": "checked the phone log"})
    assert d.status_code == 200 and d.json["status"] == "approved" and d.json["decided_by"]
    assert api.post(decision, as_=f"{PD}.manager", json={"approve": False, "note": "x"}).status_code == 409
    got = api.get(f"{LEADS}/reports/{rep['id']}", as_=me).json
    assert got["figures"]["calls"] == 2 and got["effective"]["calls"] == 3
    assert got["amendments"][0]["previous"] == {"calls": 2} and got["amendments"][0]["author"]
    assert got["amendments"][0]["reason"].startswith("one call")
    # a rejected request changes nothing
    r = api.post(f"{LEADS}/reports/{rep['id']}/amendments", as_=me, json={"changes": {"calls": 9}, "reason": "typo"})
    decision = f"{LEADS}/reports/{rep['id']}/amendments/{r.json['id']}/decision"
    assert api.post(decision, as_=f"{PD}.manager", json={"approve": False}).status_code == 422  # say why
    assert api.post(decision, as_=f"{PD}.manager", json={"approve": False, "note": "9 calls were not made"}).json[
        "status"] == "rejected"
    assert api.get(f"{LEADS}/reports/{rep['id']}", as_=me).json["effective"]["calls"] == 3
    assert api.get(f"{LEADS}/reports/{rep['id']}", as_=f"{PD}.sales2").status_code == 404
    assert api.post(f"{LEADS}/reports/{rep['id']}/amendments", as_=f"{PD}.sales2",
                    json={"changes": {"calls": 9}, "reason": "not mine"}).status_code == 404
    assert rep["id"] not in {x["id"] for x in api.get(f"{LEADS}/reports", as_=f"{PD}.sales2").json}
    assert rep["id"] in {x["id"] for x in api.get(f"{LEADS}/reports", as_=f"{PD}.manager").json}
    sent = [e["data"] for e in events(platform, "leads.report.submitted") if e["data"]["report_id"] == rep["id"]]
    assert [x["amendment"] for x in sent] == [False, True]


def test_after_the_deadline_only_a_day_the_manager_reopened_is_accepted_and_counts_late(api, frozen_clock):
    """The seeds' rule: due by 18:00 (weekends by Monday 09:30); submitted figures are final and late
    back-filling is not accepted, unless the store manager reopens the day (one late submission)."""
    me, mgr = f"{PD}.sales2", f"{PD}.manager"
    reopen = f"{LEADS}/reports/reopenings"

    def user_id(username: str) -> str:
        return api.get("/identity/api/v1/auth/me", as_=username).json["user_id"]

    frozen_clock.travel_to(sh(2026, 11, 20, 17, 59))
    assert api.post(reopen, as_=mgr, json={"day": "2026-11-20", "consultant_id": user_id(me), "reason": "x"}
                    ).status_code == 422  # still open
    frozen_clock.travel_to(sh(2026, 11, 20, 18, 30))
    r = api.post(f"{LEADS}/reports", as_=me, json={"day": "2026-11-20"})
    assert r.status_code == 409 and r.json["code"] == "report_closed", r.json
    assert api.post(reopen, as_=me, json={"day": "2026-11-20", "consultant_id": user_id(me), "reason": "x"}
                    ).status_code == 403  # not the consultant's to reopen
    assert api.post(reopen, as_=mgr, json={"day": "2026-11-20", "consultant_id": user_id(me), "reason": ""}
                    ).status_code == 422  # say why
    o = api.post(reopen, as_=mgr, json={"day": "2026-11-20", "consultant_id": user_id(me), "reason": "系统故障"})
    assert o.status_code == 201 and o.json["owner"] == user_id(me) and o.json["used_at"] is None, o.json
    r = api.post(f"{LEADS}/reports", as_=me, json={"day": "2026-11-20"})
    assert r.status_code == 201 and r.json["late"] is True
    assert api.post(f"{LEADS}/reports", as_=me, json={"day": "2026-11-20"}).status_code == 409  # once
    frozen_clock.travel_to(sh(2026, 11, 23, 9, 15))  # Monday morning: the weekend is still open
    r = api.post(f"{LEADS}/reports", as_=me, json={"day": "2026-11-22"})
    assert r.status_code == 201 and r.json["late"] is False
    frozen_clock.travel_to(sh(2026, 11, 23, 9, 45))
    assert api.post(f"{LEADS}/reports", as_=me, json={"day": "2026-11-21"}).status_code == 409
    assert api.post(f"{LEADS}/reports", as_=me, json={"day": "2026-11-24"}).status_code == 422


def test_the_manager_reopens_a_missed_day_from_the_reports_page_and_the_consultant_back_fills_it(
        api, frozen_clock, platform):
    """Past the deadline the consultant's page says the day is closed and offers no form; the manager's
    page lists the consultant as missing with a reopen form; once reopened, the consultant submits late."""
    me, mgr = f"{PD}.sales1", f"{PD}.manager"
    frozen_clock.travel_to(sh(2026, 11, 25, 19, 0))  # a Wednesday, past its 18:00 deadline
    day = "2026-11-25"
    sales = browser(platform, me)
    html = sales.get(f"/leads/reports?day={day}").get_data(as_text=True)
    assert 'id="ld-closed"' in html and "店长" in html and "提交日报" not in html  # no form that would be refused

    manager = browser(platform, mgr)
    html = manager.get(f"/leads/reports?day={day}").get_data(as_text=True)
    consultant_id = api.get("/identity/api/v1/auth/me", as_=me).json["user_id"]
    assert f'name="reopen_for" value="{consultant_id}"' in html
    r = manager.post(f"/leads/reports?day={day}", data={"csrf_token": _csrf(html), "day": day,
                                                         "reopen_for": consultant_id, "reason": "系统故障"})
    assert r.status_code == 302
    html = manager.get(f"/leads/reports?day={day}").get_data(as_text=True)
    assert "已重新开放" in html and f'name="reopen_for" value="{consultant_id}"' not in html

    html = sales.get(f"/leads/reports?day={day}").get_data(as_text=True)
    assert 'id="ld-closed"' not in html and "已重新开放" in html
    r = sales.post(f"/leads/reports?day={day}", data={"csrf_token": _csrf(html), "day": day, "calls": "3"})
    assert r.status_code == 302
    mine = api.get(f"{LEADS}/reports", as_=me, query_string={"day": day}).json
    assert [(x["figures"]["calls"], x["late"]) for x in mine] == [(3, True)]


def test_store_tact_statistics_by_the_manager(api, frozen_clock):
    frozen_clock.travel_to(sh(2026, 11, 18, 16))
    r = api.post(f"{LEADS}/reports", as_=f"{PD}.manager",
                 json={"day": "2026-11-18", "kind": "store", "figures": {"ads_radio": 2, "mobile_shows": 1}})
    assert r.status_code == 201 and r.json["owner"] == "store" and r.json["figures"]["ads_radio"] == 2
    assert api.post(f"{LEADS}/reports", as_=f"{PD}.sales3",
                    json={"day": "2026-11-18", "kind": "store"}).status_code == 403
