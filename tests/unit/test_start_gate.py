"""The start's progress (crm.starting): what the port answers while `crm serve` prepares the platform."""
from __future__ import annotations

from werkzeug.test import Client

from crm.starting import StartGate, StartProgress


def test_the_percentage_follows_the_steps_and_the_activity_counter():
    p = StartProgress()
    assert p.percent() == 0
    for step in ("databases", "demo_group", "relays", "activity"):  # each ends the one before
        p.begin(step)
    p.count("activity", 50, 100)
    assert p.percent() == 12 + 40
    p.finish()
    assert p.snapshot()["steps"][-1]["state"] == "skipped"  # never begun: not needed on this start


def test_a_start_without_demo_activity_skips_it_in_the_percentage():
    p = StartProgress()
    p.begin("relays")
    p.begin("dashboards")
    assert [s["state"] for s in p.snapshot()["steps"]] == ["skipped", "skipped", "done", "skipped", "running"]
    assert p.percent() == 4 * 100 // 12


def test_a_page_gets_the_progress_in_the_browsers_language_and_an_api_call_503():
    c = Client(StartGate(StartProgress()))
    zh = c.get("/leads/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.status_code == 503 and "经销商集团CRM正在启动" in zh.get_data(as_text=True)
    en = c.get("/leads/", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "Dealer CRM is starting" in en.get_data(as_text=True)
    api = c.get("/customers/api/v1/customers")
    assert api.status_code == 503 and api.headers["Retry-After"] == "5" and api.get_json()["code"] == "starting"


def test_the_language_switch_sets_the_cookie_and_stays_on_the_site():
    c = Client(StartGate(StartProgress()))
    r = c.get("/identity/lang/en?next=//evil.example/x")
    assert r.status_code == 302 and r.headers["Location"] == "/" and "lang=en" in r.headers["Set-Cookie"]
    assert "Dealer CRM is starting" in c.get("/").get_data(as_text=True)  # the cookie wins over the default


def test_once_open_every_request_goes_to_the_platform():
    def platform(environ, start_response):
        start_response("200 OK", [])
        return [b"platform"]

    gate = StartGate(StartProgress())
    gate.open(platform)
    assert Client(gate).get("/identity/login").get_data() == b"platform"
