"""The to-do inbox and its notices, on the embedded platform with the real bus (issue 14, point 8).

Work reaches the right person: an event of the service that owns the work opens an item for the
user it concerns, and the event that says the work is done closes it. Notices go out by e-mail (a
real SMTP server on this machine) and to a WeCom group robot (a local webhook that checks the
message format), from identity's worker: retried when the channel is down, sent once, held in
quiet hours.
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.identity.entrypoints.delivery import NoticeQueue, deliver_due
from services.identity.adapters.models import Delivery
from services.identity.handlers.todo import NOTICE_CHANNEL, quiet_end_after
from shared import clock
from shared.bus import emit
from shared.events import Event
from shared.tenancy import Scope
from shared.wake import Wakeup
from tests.conftest import store_id, wait_until
from tests.notify_servers import SmtpInbox, WeComRobot, free_port

SH = ZoneInfo("Asia/Shanghai")
STORE = "hz-toyota-xs"
SALES, MANAGER, ADMIN, SUP, AGENT = f"{STORE}.sales1", f"{STORE}.manager", "hq.admin", "cc.sup", "cc.agent1"
INBOX = "/identity/api/v1/inbox"


def items(api, user: str) -> list[dict]:
    r = api.get(INBOX, as_=user)
    assert r.status_code == 200, r.json
    return r.json["items"]


def item_for(api, user: str, kind: str, ref: str) -> dict:
    """Wait until the user's inbox holds an item of this kind about record `ref`."""
    return wait_until(lambda: next((i for i in items(api, user) if i["kind"] == kind and i["ref"] == ref), None), 20)


def gone(api, user: str, item_id: str) -> bool:
    return all(i["id"] != item_id for i in items(api, user))


def me(api, user: str) -> dict:
    return api.get("/identity/api/v1/auth/me", as_=user).json


def new_lead(api, name: str = "卫先生") -> dict:
    phone = f"+86137{uuid.uuid4().int % 10**8:08d}"
    r = api.post("/leads/api/v1/leads", as_=SALES, json={"name": name, "phone": phone, "source": "walk_in"})
    assert r.status_code == 201, r.json
    return r.json


@pytest.fixture(autouse=True)
def _real_time():
    yield
    clock.reset()


def test_a_new_lead_reaches_its_consultant_and_leaves_the_inbox_with_the_first_contact(api):
    lead = new_lead(api)
    item = item_for(api, SALES, "lead_new", lead["id"])
    assert "卫先生" in item["title"] and item["closes_by_work"] and item["link"] == f"/leads/{lead['id']}"
    assert api.get(f"{INBOX}/count", as_=SALES).json["unread"] >= 1

    r = api.post(f"/leads/api/v1/leads/{lead['id']}/follow-ups", as_=SALES,
                 json={"kind": "call", "outcome": "reached"})
    assert r.status_code == 201, r.json
    wait_until(lambda: gone(api, SALES, item["id"]), 20)


def _on_day(day: str, hour: int = 9) -> datetime:
    return datetime.combine(datetime.fromisoformat(day).date(), datetime.min.time(), SH) + timedelta(hours=hour)


def test_a_lead_shows_as_due_from_its_due_day_and_overdue_after_until_contacted(api, platform):
    lead = new_lead(api, "贺先生")
    item_for(api, SALES, "lead_new", lead["id"])
    platform.wait_until_consumed()
    assert lead["due_on"] > clock.now().astimezone(SH).date().isoformat()  # a first contact is due later on
    assert "lead_due" not in {i["kind"] for i in items(api, SALES) if i["ref"] == lead["id"]}

    clock.travel_to(_on_day(lead["due_on"]))
    due = item_for(api, SALES, "lead_due", lead["id"])
    assert "贺先生" in due["title"] and lead["due_on"] in due["title"] and due["closes_by_work"]
    assert due["data"]["overdue_at"] == lead["overdue_at"]

    r = api.post(f"/leads/api/v1/leads/{lead['id']}/follow-ups", as_=SALES, json={"kind": "call", "outcome": "reached"})
    assert r.status_code == 201, r.json
    wait_until(lambda: gone(api, SALES, due["id"]), 20)  # contacted: due again on a later day, hidden till then
    next_due = api.get(f"/leads/api/v1/leads/{lead['id']}", as_=SALES).json["due_on"]
    assert next_due > lead["due_on"]
    clock.travel_to(_on_day(next_due))
    again = item_for(api, SALES, "lead_due", lead["id"])
    assert again["id"] == due["id"] and next_due in again["title"] and "贺先生" in again["title"]


def test_a_defeat_waits_for_the_manager_and_one_sent_back_returns_to_the_consultant_with_the_note(api):
    lead = new_lead(api, "韩女士")
    defeat = api.post(f"/leads/api/v1/leads/{lead['id']}/defeat", as_=SALES, json={"reason": "price"})
    assert defeat.status_code == 201, defeat.json
    decide = item_for(api, MANAGER, "defeat_decide", lead["id"])
    assert decide["link"] == "/leads/defeats"
    assert not decide["read"]

    # a work item is not closed by saying so: only the decision closes it
    r = api.post(f"{INBOX}/{decide['id']}/done", as_=MANAGER)
    assert r.status_code == 409
    # nor does anyone else see or touch it
    assert api.post(f"{INBOX}/{decide['id']}/read", as_=SALES).status_code == 404
    assert api.post(f"{INBOX}/{decide['id']}/read", as_=f"{STORE}.sales2").status_code == 404

    r = api.post(f"/leads/api/v1/defeats/{defeat.json['id']}/decision", as_=MANAGER,
                 json={"approve": False, "note": "客户下周再来，请继续跟进"})
    assert r.status_code == 200, r.json
    wait_until(lambda: gone(api, MANAGER, decide["id"]), 20)
    back = item_for(api, SALES, "defeat_sent_back", lead["id"])
    assert "客户下周再来，请继续跟进" in back["detail"]

    r = api.post(f"{INBOX}/{back['id']}/done", as_=SALES)
    assert r.status_code == 200 and r.json["done"]
    assert gone(api, SALES, back["id"])


def test_a_late_report_and_an_amendment_reach_the_manager_and_the_decision_the_consultant(api):
    day = (clock.now().astimezone(SH) - timedelta(days=3)).date().isoformat()
    r = api.post("/leads/api/v1/reports/reopenings", as_=MANAGER, json={  # past its deadline: reopened first
        "day": day, "consultant_id": me(api, SALES)["user_id"], "reason": "补报"})
    assert r.status_code == 201, r.json
    r = api.post("/leads/api/v1/reports", as_=SALES, json={"day": day, "figures": {"calls": 1}})
    assert r.status_code == 201, r.json
    report = r.json
    late = item_for(api, MANAGER, "report_late", report["id"])
    assert day in late["title"] and late["link"] == "/leads/reports"

    r = api.post(f"/leads/api/v1/reports/{report['id']}/amendments", as_=SALES,
                 json={"changes": {"calls": 5}, "reason": "漏记了四个电话"})
    assert r.status_code == 201, r.json
    amendment = r.json
    ask = item_for(api, MANAGER, "report_amendment", amendment["id"])
    assert "漏记了四个电话" in ask["detail"] and ask["closes_by_work"]

    r = api.post(f"/leads/api/v1/reports/{report['id']}/amendments/{amendment['id']}/decision", as_=MANAGER,
                 json={"approve": True, "note": "已核实"})
    assert r.status_code == 200, r.json
    wait_until(lambda: gone(api, MANAGER, ask["id"]), 20)
    told = item_for(api, SALES, "amendment_decided", amendment["id"])
    assert "已核实" in told["detail"] and not told["closes_by_work"]


def test_a_missed_report_reaches_the_manager_and_goes_once_it_is_back_filled(api, platform):
    """Leads' daily job publishes a report missed at its deadline; the managers are told; the
    submission the manager allows by reopening the day closes their item."""
    from services.identity.entrypoints.consumers import _report_day

    missed_on = (clock.now().astimezone(SH) - timedelta(days=4)).date()
    day, sales = missed_on.isoformat(), me(api, SALES)["user_id"]
    _emit(platform, "leads", "leads.report.missed", {"consultant_id": sales, "day": missed_on,
                                                    "deadline": clock.now()})
    missing = item_for(api, MANAGER, "report_missing", _report_day(sales, day))
    assert day in missing["title"] and missing["link"] == "/leads/reports"
    alert = item_for(api, ADMIN, "compliance_alert", _report_day(f"store:{store_id(STORE)}", missed_on))
    assert alert["link"] == "/analytics/compliance" and day in alert["title"] and alert["data"]["missing"] == 1
    other = me(api, f"{STORE}.sales2")["user_id"]  # a second consultant missing that day: the same alert, counting 2
    _emit(platform, "leads", "leads.report.missed", {"consultant_id": other, "day": missed_on,
                                                    "deadline": clock.now()})
    assert wait_until(lambda: item_for(api, ADMIN, "compliance_alert", alert["ref"])["data"]["missing"] == 2, 30)
    r = api.post("/leads/api/v1/reports/reopenings", as_=MANAGER, json={
        "day": day, "consultant_id": sales, "reason": "补报"})
    assert r.status_code == 201, r.json
    r = api.post("/leads/api/v1/reports", as_=SALES, json={"day": day, "figures": {"calls": 2}})
    assert r.status_code == 201, r.json
    wait_until(lambda: gone(api, MANAGER, missing["id"]), 30)


def _emit(platform, service: str, type_: str, data: dict, store: str = STORE) -> None:
    rt = platform.runtimes[service]
    gid = me_group(platform)
    with rt.db.session(Scope.system(gid)) as s:
        emit(s, Event(type=type_, group_id=gid, store_id=store_id(store), data=data))


def me_group(platform) -> str:
    from services.identity.adapters.models import Group

    with platform.runtimes["identity"].db.session(Scope.system()) as s:
        return s.scalar(select(Group.id).where(Group.code == "demo"))


def test_a_complaint_goes_to_the_store_and_to_the_overseers_once_its_sla_is_missed(api, platform):
    cid, manager = str(uuid.uuid4()), me(api, MANAGER)["user_id"]
    due = clock.now() + timedelta(hours=4)
    _emit(platform, "callcenter", "callcenter.complaint.opened",
          {"complaint_id": cid, "customer_id": "", "severity": "high", "source": "agent", "summary": "销售承诺未兑现",
           "due_at": due, "assignee_id": manager, "customer_name": "林先生"})
    mine = item_for(api, MANAGER, "complaint", cid)
    assert "林先生" in mine["title"] and mine["link"] == f"/callcenter/complaints/{cid}"
    assert all(i["ref"] != cid for i in items(api, SUP))  # not yet: the SLA still holds

    clock.travel_to(due + timedelta(minutes=1))
    sla = item_for(api, SUP, "complaint_sla", cid)
    assert item_for(api, ADMIN, "complaint_sla", cid)

    _emit(platform, "callcenter", "callcenter.complaint.resolved",
          {"complaint_id": cid, "customer_id": "", "severity": "high", "within_sla": False})
    wait_until(lambda: gone(api, SUP, sla["id"]) and gone(api, MANAGER, mine["id"]), 20)


def test_a_promised_call_back_shows_to_its_agent_when_due(api, platform):
    tid, agent = str(uuid.uuid4()), me(api, AGENT)["user_id"]
    at = clock.now() + timedelta(hours=2)
    _emit(platform, "callcenter", "callcenter.attempt.logged",
          {"task_id": tid, "task_type": "delivery_callback", "customer_id": "", "agent_id": agent,
           "outcome": "call_back", "attempt": 1, "callback_at": at})
    platform.wait_until_consumed()
    assert all(i["ref"] != tid for i in items(api, AGENT))  # two hours ahead: not yet
    clock.travel_to(at - timedelta(minutes=5))
    item = item_for(api, AGENT, "callback_due", tid)
    assert item["link"] == "/callcenter/workbench"
    _emit(platform, "callcenter", "callcenter.task.completed",
          {"task_id": tid, "task_type": "delivery_callback", "customer_id": "", "agent_id": agent})
    wait_until(lambda: gone(api, AGENT, item["id"]), 20)


def test_quiet_hours_move_a_notice_to_their_end():
    start, end = datetime.strptime("22:00", "%H:%M").time(), datetime.strptime("08:00", "%H:%M").time()
    late = datetime(2026, 12, 1, 23, 30, tzinfo=SH)
    assert quiet_end_after(late, start, end, SH) == datetime(2026, 12, 2, 8, 0, tzinfo=SH)
    early = datetime(2026, 12, 2, 7, 0, tzinfo=SH).astimezone(UTC)
    assert quiet_end_after(early, start, end, SH) == datetime(2026, 12, 2, 8, 0, tzinfo=SH)
    day = datetime(2026, 12, 2, 12, 0, tzinfo=SH)
    assert quiet_end_after(day, start, end, SH) == day


@pytest.fixture
def channels(api):
    """The group's channels pointed at local receivers; the consultant takes e-mail and WeCom."""
    smtp_port = free_port()
    robot = WeComRobot().start()
    r = api.put("/identity/api/v1/notify-channels", as_=ADMIN,
                json={"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_sender": "crm@dealer.example",
                      "wecom_webhook": robot.url, "public_url": "https://crm.dealer.example"})
    assert r.status_code == 200, r.json
    user = me(api, SALES)["user_id"]
    r = api.patch(f"/identity/api/v1/users/{user}", as_=ADMIN, json={"email": "sales1@dealer.example"})
    assert r.status_code == 200, r.json
    r = api.put("/identity/api/v1/notify-settings", as_=SALES, json={"email": True, "wecom": True})
    assert r.status_code == 200, r.json
    yield {"smtp_port": smtp_port, "robot": robot}
    api.put("/identity/api/v1/notify-settings", as_=SALES, json={"email": False, "wecom": False})
    robot.stop()


def _deliveries(platform, lead_link: str) -> list[Delivery]:
    from services.identity.adapters.models import TodoItem

    with platform.runtimes["identity"].db.session(Scope.system()) as s:
        rows = s.scalars(select(Delivery).join(TodoItem, TodoItem.id == Delivery.item_id)
                         .where(TodoItem.link == lead_link, TodoItem.kind == "lead_new")).all()
        s.expunge_all()
        return list(rows)


def test_notices_are_retried_until_the_mail_server_answers_and_sent_once(api, platform, channels):
    robot = channels["robot"]
    robot.fail_next = 1  # the robot is busy once
    lead = new_lead(api, "郑先生")
    link = f"/leads/{lead['id']}"
    subject = "新线索：郑先生"  # its notice (in the consultant's language, zh)
    item_for(api, SALES, "lead_new", lead["id"])
    # no mail server yet: the e-mail fails and waits for its retry; the WeCom notice is retried too
    failed = wait_until(lambda: [d for d in _deliveries(platform, link) if d.attempts >= 1 and d.status == "pending"
                                 and d.channel == "email"], 60)
    assert failed[0].last_error and failed[0].next_at > clock.now()
    # the worker's sender knows when to look again: no later than this retry (nothing else wakes it then)
    sender = NoticeQueue(platform.runtimes["identity"].db)
    sender.run_once()
    due = sender.due_in()
    assert due is not None and due <= (failed[0].next_at - clock.now()).total_seconds() + 1

    smtp = SmtpInbox(channels["smtp_port"]).start()  # the mail server comes up on the configured port
    try:
        clock.travel_to(clock.now() + timedelta(minutes=2))  # past the retry's delay
        wait_until(lambda: all(d.status == "sent" for d in _deliveries(platform, link))
                   and len(_deliveries(platform, link)) == 2, 90)  # a loaded 2-core box: room to spare
        # the new-lead notice (run just before the store's midnight, the lead's follow-up falling due on the
        # new day sends one more notice about 郑先生, "<day> 应跟进": another item, rightly sent too)
        mails = [(to, m) for to, m in smtp.messages if m["Subject"] == subject]
        assert len(mails) == 1 and mails[0][0] == ["sales1@dealer.example"]
        assert f"https://crm.dealer.example{link}" in mails[0][1].get_content()
        texts = [m for m in robot.received if subject in m["text"]["content"]]
        assert len(texts) == 1 and texts[0]["msgtype"] == "text" and not robot.rejected
        # more worker runs send nothing again
        deliver_due(platform.runtimes["identity"].db)
        assert len([m for to, m in smtp.messages if m["Subject"] == subject]) == 1
    finally:
        smtp.stop()


def test_a_notice_due_in_quiet_hours_waits_until_they_end(api, platform, channels):
    local = clock.now().astimezone(SH)
    start, end = (local - timedelta(hours=1)).strftime("%H:%M"), (local + timedelta(hours=1)).strftime("%H:%M")
    r = api.put("/identity/api/v1/notify-settings", as_=SALES,
                json={"email": False, "wecom": True, "quiet_start": start, "quiet_end": end})
    assert r.status_code == 200, r.json
    heard = Wakeup(platform.runtimes["identity"].db.engine, NOTICE_CHANNEL)
    try:
        lead = new_lead(api, "冯女士")
        link = f"/leads/{lead['id']}"
        item_for(api, SALES, "lead_new", lead["id"])  # the inbox has it at once
        pending = wait_until(lambda: _deliveries(platform, link), 20)
        assert heard.event.is_set()  # the commit that scheduled it signalled the sender's channel
    finally:
        heard.close()
    assert [d.channel for d in pending] == ["wecom"]
    expected_end = datetime.combine(local.date() if local.strftime("%H:%M") < end else local.date() + timedelta(days=1),
                                    datetime.strptime(end, "%H:%M").time(), SH)
    assert pending[0].next_at == expected_end and pending[0].status == "pending"
    sender = NoticeQueue(platform.runtimes["identity"].db)
    sender.run_once()
    assert not [m for m in channels["robot"].received if "冯女士" in m["text"]["content"]]
    due = sender.due_in()  # the sender sleeps no longer than until the quiet hours end (at most its poll)
    assert due is not None and due <= (expected_end - clock.now()).total_seconds() + 1

    clock.travel_to(expected_end + timedelta(seconds=5))
    wait_until(lambda: [m for m in channels["robot"].received if "冯女士" in m["text"]["content"]], 30)


def test_bad_settings_are_refused_and_change_nothing(api):
    before = api.get("/identity/api/v1/notify-settings", as_=SALES).json
    r = api.put("/identity/api/v1/notify-settings", as_=SALES, json={"quiet_start": "25:00", "quiet_end": "08:00"})
    assert r.status_code == 422
    r = api.put("/identity/api/v1/notify-settings", as_=SALES, json={"quiet_start": "22:00"})
    assert r.status_code == 422 and "quiet_end" in r.json["errors"]
    assert api.get("/identity/api/v1/notify-settings", as_=SALES).json == before
    assert api.put("/identity/api/v1/notify-channels", as_=SALES, json={"smtp_port": 25}).status_code == 403
    r = api.put("/identity/api/v1/notify-channels", as_=ADMIN, json={"wecom_webhook": "ftp://robot"})
    assert r.status_code == 422


def _inbox_script(ids: dict, day: str, users: dict, due_at: datetime) -> list[tuple[str, dict]]:
    """Events of every rule, several on the same records (opened, refreshed, closed, reopened) and on
    one report day (HQ's alert counting two consultants), as one delivery may bring them."""
    lead, lead2, lead3, cid, tid, rep, amd = (ids[k] for k in ("lead", "lead2", "lead3", "cid", "tid", "rep", "amd"))
    sales, sales2, agent, manager = users["sales"], users["sales2"], users["agent"], users["manager"]
    return [
        ("leads.lead.created", {"lead_id": lead, "consultant_id": sales, "name": "卫先生", "source": "walk_in",
                                "due_on": "2026-12-03", "overdue_at": "2026-12-04T01:00:00+00:00"}),
        ("leads.lead.created", {"lead_id": lead2, "consultant_id": None, "name": "林女士", "source": "web"}),
        ("leads.lead.due_changed", {"lead_id": lead, "consultant_id": sales, "due_on": "2026-12-05"}),
        ("leads.lead.updated", {"lead_id": lead2, "changes": {"consultant_id": sales2, "name": "林女士"}}),
        ("leads.followup.logged", {"lead_id": lead2, "consultant_id": sales2, "first_contact": True,
                                   "within_sla": False, "response_seconds": 9000}),
        ("leads.lead.created", {"lead_id": lead3, "consultant_id": sales, "name": "周先生", "source": "phone"}),
        ("leads.lead.updated", {"lead_id": lead3, "changes": {"consultant_id": sales2}}),
        ("leads.lead.level_changed", {"lead_id": lead3, "to_level": "defeated"}),
        ("leads.defeat.proposed", {"lead_id": lead, "consultant_id": sales, "reason": "价格"}),
        ("leads.defeat.sent_back", {"lead_id": lead, "consultant_id": sales, "note": "再跟一次", "customer_name": None}),
        ("leads.defeat.proposed", {"lead_id": lead, "consultant_id": sales, "reason": "已购车"}),
        ("leads.defeat.approved", {"lead_id": lead, "consultant_id": sales, "reason": "已购车"}),
        ("leads.report.missed", {"consultant_id": sales, "day": day}),
        ("leads.report.missed", {"consultant_id": sales2, "day": day}),
        ("leads.report.submitted", {"report_id": rep, "consultant_id": sales, "day": day, "late": True}),
        ("leads.report.amendment_requested", {"amendment_id": amd, "day": day, "reason": "录错了"}),
        ("leads.report.amendment_decided", {"amendment_id": amd, "consultant_id": sales, "day": day,
                                            "approved": False, "note": "不改"}),
        ("callcenter.complaint.opened", {"complaint_id": cid, "severity": "high", "summary": "等太久",
                                         "due_at": due_at.isoformat(), "customer_name": "林先生"}),
        ("callcenter.complaint.resolved", {"complaint_id": cid}),
        ("callcenter.complaint.reopened", {"complaint_id": cid, "severity": "high", "note": "又来了",
                                           "assignee_id": manager}),
        ("callcenter.attempt.logged", {"task_id": tid, "agent_id": agent, "outcome": "call_back",
                                       "callback_at": (due_at + timedelta(hours=1)).isoformat(), "task_type": "x"}),
        ("callcenter.attempt.logged", {"task_id": tid, "agent_id": agent, "outcome": "call_back",
                                       "callback_at": (due_at + timedelta(hours=2)).isoformat(), "task_type": "x"}),
        ("leads.lead.due_changed", {"lead_id": lead, "consultant_id": sales, "due_on": None}),
        ("leads.followup.logged", {"lead_id": lead, "consultant_id": sales, "first_contact": True, "within_sla": True}),
    ]


def _inbox_outcome(platform, gid: str, ids: dict, day: str) -> list[str]:
    """The items of the script's records (with their notices), the run's own ids and day masked."""
    from services.identity.adapters.models import TodoItem

    names = {v: k for k, v in ids.items()}
    with platform.runtimes["identity"].db.session(Scope.system(gid)) as s:
        found = s.scalars(select(TodoItem).where(TodoItem.store_id == store_id(STORE),
                                                 TodoItem.updated_at == clock.now())).all()
        found = [i for i in found if i.ref in names or (i.data or {}).get("day") == day]
        out = []
        for i in found:
            notices = sorted((d.channel, d.round) for d in  # (the worker may be sending them meanwhile)
                             s.scalars(select(Delivery).where(Delivery.item_id == i.id)))
            ref = i.ref if i.ref in names else "<the day's>"  # a report day's ref is derived from the day
            row = json.dumps([i.user_id, i.kind, ref, i.link, i.data, i.show_from.isoformat(), i.done_at is None,
                              i.read_at, i.round, notices], ensure_ascii=False, sort_keys=True, default=str)
            for v, k in names.items():
                row = row.replace(v, f"<{k}>")
            out.append(row.replace(day, "<day>"))
    return sorted(out)


def test_one_delivery_of_many_events_leaves_the_same_items_as_the_events_one_by_one(api, platform, channels):
    """The consumer takes a delivery in one set-based pass: the items, their rounds and their notices
    are exactly those of the same events applied one at a time."""
    from services.identity.entrypoints.consumers import handlers

    gid = me_group(platform)
    users = {k: me(api, u)["user_id"] for k, u in
             (("sales", SALES), ("sales2", f"{STORE}.sales2"), ("agent", AGENT), ("manager", MANAGER))}
    clock.freeze(clock.now())
    due_at = clock.now() + timedelta(hours=4)
    runs = []
    for one_by_one, day in ((True, "2026-11-02"), (False, "2026-11-03")):
        ids = {k: str(uuid.uuid4()) for k in ("lead", "lead2", "lead3", "cid", "tid", "rep", "amd")}
        events = [Event(type=t, group_id=gid, store_id=store_id(STORE), data=d)
                  for t, d in _inbox_script(ids, day, users, due_at)]
        db = platform.runtimes["identity"].db
        if one_by_one:
            for ev in events:
                with db.session(Scope.system(gid)) as s:
                    handlers.apply(s, [ev])
        else:
            with db.session(Scope.system(gid)) as s:
                handlers.apply(s, events)
        runs.append(_inbox_outcome(platform, gid, ids, day))
    one, batch = runs
    assert one == batch
    kinds = [json.loads(r)[1:3] + [json.loads(r)[6]] for r in one]  # kind, ref, still open
    assert ["lead_new", "<lead>", False] in kinds and ["lead_due", "<lead>", False] in kinds
    assert ["lead_reassigned", "<lead2>", False] in kinds and ["first_response_breach", "<lead2>", True] in kinds
    assert ["defeat_approved", "<lead>", True] in kinds and ["defeat_decide", "<lead>", False] in kinds
    assert ["complaint", "<cid>", True] in kinds and ["callback_due", "<tid>", True] in kinds
    alerts = [json.loads(r) for r in one if json.loads(r)[1] == "compliance_alert"]
    assert alerts and all(a[4]["missing"] == 2 for a in alerts)
    assert any(json.loads(r)[1] == "lead_new" and json.loads(r)[9] for r in one)  # the consultant's notices
