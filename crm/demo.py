"""Believable activity for the demo group (design §7), through the services' public HTTP APIs only.

`serve()` runs it once, right after the demo group was created, so that a demo user who logs in
finds leads at every level, a call-center queue with work due now and dashboards with numbers.

Everything goes through `werkzeug.test.Client(platform.wsgi())` as the demo users. Older activity
is dated by moving the platform clock (`shared.clock.travel_to`) before each step: the tokens are
obtained first, at the real time, and the services verify them against the real time, so they stay
valid while the clock is in the past. Deliveries are dated with the API's own `delivered_on`.
Deterministic for a given seed (random.Random(seed), Faker('zh_CN') seeded).

The steps of one lead are in `crm.demo_story`; this module plans the stores' other activity (visitors
without a phone, service visits, daily reports), the call-center sessions and the month's targets.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any, Protocol

from faker import Faker

from crm.datagen import plate
from crm.demo_story import CONSULTANTS, MODELS, TZ, DemoSeedError, Http, Run, local, plan_lead
from shared import clock

__all__ = ["DemoSeedError", "seed_activity"]


class Platform(Protocol):
    """What the demo needs of a running platform (`crm.embedded.Platform`)."""

    def wsgi(self) -> Any: ...

    def wait_until_consumed(self, timeout: float = ...) -> Any: ...


def seed_activity(platform: Platform, days: int = 60, seed: int = 2026, leads_per_store: int = 20,
                  progress: Callable[[int, int], None] | None = None,
                  settling: Callable[[], None] | None = None) -> dict:
    """Create `days` days of activity for the demo group; returns counts of what was created.

    `progress(done, total)` is told after each planned action, `settling()` when the actions are done and
    the targets are set while the consumers catch up (the progress page of the first start shows both)."""
    started = time.monotonic()
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    real_now = clock.now()  # the run's own time: the real time except in a test run started at a given instant
    run = Run(http=Http(platform.wsgi()), rng=random.Random(seed), fake=fake,
              today=real_now.astimezone(TZ).date(), limit=real_now - timedelta(minutes=2))

    stores = _log_in(run)  # at the real time: tokens must verify against the real clock
    run.add(local(run.day_of(days - 1), 8, 30), partial(hq_settings, run))
    for st in stores:
        _plan_store(run, st, days, leads_per_store)
    for n, off in enumerate(range(days - 4, 3, -4)):  # a call-center session every 4 days; the last 3 days stay open
        run.add(local(run.day_of(off), 10, 15), partial(cc_session, run, platform, n))
    run.add(local(run.day_of(min(20, days - 2)), 8, 45), partial(change_cadence, run))
    # HQ's spot checks of the stores' callbacks since the last session, late in today's calling window (or
    # yesterday's, before it opens): a sampled callback is checked wherever in the two months it fell
    last = local(run.day_of(0), 19, 30)
    run.add(last if last <= run.limit else local(run.day_of(1), 19, 30), partial(spot_checks, run, platform, "last"))
    _plan_complaints(run, stores)

    run.plan.sort(key=lambda x: (x[0], x[1]))
    try:
        for done, (when, _, step) in enumerate(run.plan, 1):
            clock.travel_to(when)
            step()
            if progress:
                progress(done, len(run.plan))
    finally:
        clock.reset()

    if settling:
        settling()
    _set_targets(run, stores, per_day=leads_per_store / days)
    platform.wait_until_consumed(timeout=120)
    out: dict[str, Any] = dict(sorted(run.counts.items()))
    out.update(requests=run.http.calls, errors=len(run.http.errors), error_samples=run.http.errors[:5],
               seconds=round(time.monotonic() - started, 1))
    return out


def _log_in(run: Run) -> list[dict]:
    """Reads the stores (as hq.admin) and logs every demo user in; the stores by code."""
    http = run.http
    http.login_all(["hq.admin"])
    org = http.call("GET", "/identity/api/v1/org", "hq.admin")
    if org is None:
        raise DemoSeedError("cannot read the org tree: " + "; ".join(http.errors))
    brand_code = {b["id"]: b["code"] for b in org["brands"]}
    http.call("POST", "/leads/api/v1/catalogue/starter", "hq.admin", {})  # the brands' model catalogues (MODELS)
    stores = [{"id": s["id"], "code": s["code"], "brand": brand_code.get(s["brand_id"], "toyota")}
              for s in sorted(org["stores"], key=lambda s: s["code"])]
    users = ["cc.agent1", "cc.agent2"]
    for st in stores:
        users += [f"{st['code']}.manager"] + [f"{st['code']}.sales{i}" for i in range(1, CONSULTANTS + 1)]
    http.login_all(users)
    return stores


def _plan_store(run: Run, st: dict, days: int, leads_per_store: int) -> None:
    """A store's leads, passers-by, service visits and daily reports."""
    rng = run.rng
    for k in range(leads_per_store):
        if k < 2:  # deliveries 3-6 days ago: their day-3 callbacks are due now
            plan_lead(run, st, age=rng.randint(16, 40), fate="delivered", delivery_ago=rng.randint(3, 6))
        else:
            plan_lead(run, st, age=rng.randint(0, days - 1))
    manager = f"{st['code']}.manager"
    for n in range(2):  # visitor-log lines without a phone (passers-by who left no number); one typed in late
        model = rng.choice(MODELS[st["brand"]])[0]
        off = rng.randint(1, days - 1)
        came = local(run.day_of(off), rng.randint(10, 17), 15)
        typed = local(run.day_of(off - 1), 9, 10) if n == 1 else came
        run.add(typed, partial(passer_by, run, manager, model, came))
    for j in range(2):  # DMS: owners of older cars come in for service
        model = rng.choice(MODELS[st["brand"]])[0]
        owner = {"customer_name": run.fake.name(), "phone": run.phone(), "vin": run.vin(st["brand"]), "model": model,
                 "plate": plate(rng)}
        bought = run.today - timedelta(days=rng.randint(400, 1400))
        visit_ago = rng.randint(2, 5) if j == 0 else rng.randint(6, days - 1)
        when = local(run.day_of(visit_ago), rng.randint(9, 15), 30)
        run.add(when, partial(service_visit, run, st, owner, bought.isoformat(), when))
    _plan_reports(run, st, days)


def _plan_reports(run: Run, st: dict, days: int) -> None:
    """Daily reports for every workday of this month (what the compliance page counts), and of last month
    in a month's first week: each consultant mostly on time, some after the 18:00 deadline, a few never;
    the manager's store report for the last week. Compliance then shows a handful missing and late per
    store, not a month of them."""
    rng = run.rng
    first = run.today.replace(day=1)
    if run.today.day <= 7:
        first = (first - timedelta(days=1)).replace(day=1)
    first = max(first, run.day_of(days - 1))
    for off in range((run.today - first).days, -1, -1):
        day = run.day_of(off)
        if day.weekday() >= 5:  # weekends are reported with Monday's report
            continue
        for i in range(1, CONSULTANTS + 1):
            r, user = rng.random(), f"{st['code']}.sales{i}"
            if r < 0.86:
                run.add(local(day, 17, rng.randint(20, 58)), partial(daily_report, run, user, off, "consultant"))
            elif r < 0.95:  # after the deadline: late, once the manager has reopened the day (the seeds' rule)
                run.add(local(day, rng.randint(19, 21), rng.randint(0, 59)),
                        partial(late_report, run, user, f"{st['code']}.manager", off))
        if off <= 7:
            run.add(local(day, 17, 59), partial(daily_report, run, f"{st['code']}.manager", off, "store"))


def passer_by(run: Run, manager: str, model: str, came: Any) -> None:
    """A walk-in who left no number; `came` before now when the line is typed in late."""
    if run.http.call("POST", "/leads/api/v1/visits", manager, {
            "kind": "walk_in", "model": model, "party_size": 1, "note": "看车未留电话", "time_in": came.isoformat()}):
        run.counts["visits"] += 1


def service_visit(run: Run, st: dict, owner: dict, bought: str, when: Any) -> None:
    """The DMS feed: the owner's vehicle, then its service visit."""
    rng, manager = run.rng, f"{st['code']}.manager"
    if run.http.call("POST", "/customers/api/v1/vehicles", manager, {
            **owner, "purchase_date": bought, "selling_store_id": st["id"], "mileage": rng.randint(8000, 90000)}):
        run.counts["vehicles"] += 1
    if run.http.call("POST", "/customers/api/v1/service-visits", manager, {
            **owner, "repair_order": f"RO{when:%y%m%d}{rng.randrange(10**4):04d}",
            "visit_date": when.astimezone(TZ).date().isoformat(),
            "kind": rng.choice(("maintenance", "maintenance", "repair")),
            "mileage": rng.randint(8000, 90000), "amount": str(rng.randint(4, 40) * 100)}):
        run.counts["service_visits"] += 1


def late_report(run: Run, user: str, manager: str, off: int) -> None:
    """A consultant's report after its deadline: the store manager reopens the day first."""
    if run.http.call("POST", "/leads/api/v1/reports/reopenings", manager, {
            "day": run.day_of(off).isoformat(), "consultant_id": run.http.user_ids[user], "reason": "系统故障，补交"}):
        daily_report(run, user, off, "consultant")


def daily_report(run: Run, user: str, off: int, kind: str) -> None:
    negotiations = run.rng.randint(0, 4) if kind == "consultant" else run.rng.randint(2, 9)
    if run.http.call("POST", "/leads/api/v1/reports", user, {
            "day": run.day_of(off).isoformat(), "kind": kind, "figures": {"negotiations": negotiations}}):
        run.counts["daily_reports"] += 1


def survey_answers(rng: random.Random, task_type: str) -> dict[str, str]:
    """What a reached customer answers to the questionnaire of `task_type`."""
    if task_type == "delivery_callback":
        return {
            "overall": str(rng.choices((5, 4, 3, 2), [6, 3, 1, 0.4])[0]),
            "explained": "yes" if rng.random() < 0.9 else "no", "on_time": "yes" if rng.random() < 0.85 else "no",
            "recommend": str(rng.choices(range(11), [0.2, 0.1, 0.2, 0.2, 0.3, 0.5, 0.7, 1, 2, 3, 3])[0]),
            "repurchase": rng.choices(("high", "medium", "low"), [5, 3, 1])[0], "comments": ""}
    if task_type == "service_callback":
        return {
            "overall": str(rng.choices((5, 4, 3, 2), [5, 3, 1, 0.5])[0]),
            "fixed": "yes" if rng.random() < 0.9 else "no",
            "waiting": rng.choice(("short", "ok", "ok", "long")),
            "recommend": str(rng.randint(6, 10)), "comments": ""}
    return {  # defeat_verification
        "bought_elsewhere": "yes" if rng.random() < 0.6 else "no",
        "reason": rng.choice(("price", "competitor", "financing", "postponed", "other")),
        "overall": str(rng.choice((3, 4, 4, 5)))}


def cc_session(run: Run, platform: Platform, session_no: int) -> None:
    """An agent works the due callbacks of each kind, up to a cap."""
    platform.wait_until_consumed(timeout=60)  # the tasks of the events so far exist
    agent = ("cc.agent1", "cc.agent2")[session_no % 2]
    for task_type, cap in (("defeat_verification", 6), ("delivery_callback", 12), ("service_callback", 4)):
        for _ in range(cap):
            if not _call_next(run, agent, task_type):
                break
    spot_checks(run, platform, session_no, waited=True)


def spot_checks(run: Run, platform: Platform, session_no: int | str, waited: bool = False) -> None:
    """HQ's spot checks of the stores' own callbacks, up to six."""
    if not waited:
        platform.wait_until_consumed(timeout=60)  # the spot-check tasks of the callbacks so far exist
    agent = "cc.agent1" if session_no == "last" else ("cc.agent1", "cc.agent2")[int(session_no) % 2]
    for k in range(6):
        if not _spot_check(run, agent, session_no, k):
            break


def _spot_check(run: Run, agent: str, session_no: int | str, k: int) -> bool:
    """Calls the next sampled store callback; of the customers the store says it reached, the first and
    then every third says the store never called.

    Which callbacks are sampled depends on their ids (random), so these draws come from their own
    source: the rest of the demo draws the same whatever was sampled."""
    r = run.http.call("POST", "/callcenter/api/v1/tasks/next", agent, {"task_type": "spot_check"})
    task = r and r.get("task")
    if not task:
        return False
    run.counts["spot_check_calls"] += 1
    reported_reached = run.sampled_callbacks.get((task.get("detail") or {}).get("store_callback_id", ""), True)
    if reported_reached:
        run.counts["spot_checks_of_reached"] += 1
    contradicts = reported_reached and run.counts["spot_checks_of_reached"] % 3 == 1
    own = random.Random(f"spot-{session_no}-{k}")
    answers = {"called": "no" if contradicts else "yes", "overall": str(own.choice((2, 4, 5, 5))), "comments": ""}
    if run.http.call("POST", f"/callcenter/api/v1/tasks/{task['id']}/attempts", agent,
                     {"outcome": "reached", "note": "", "answers": answers}):
        run.counts["spot_checks_answered"] += 1
    return True


def _call_next(run: Run, agent: str, task_type: str) -> bool:
    """Claims and calls the next task of `task_type`; False when there is none."""
    r = run.http.call("POST", "/callcenter/api/v1/tasks/next", agent, {"task_type": task_type})
    task = r and r.get("task")
    if not task:
        return False
    outcome = run.rng.choices(("reached", "no_answer", "busy"), [8, 1.5, 0.5])[0]
    body: dict[str, Any] = {"outcome": outcome, "note": "客户满意" if outcome == "reached" else ""}
    if outcome == "reached":
        body["answers"] = survey_answers(run.rng, task_type)
    res = run.http.call("POST", f"/callcenter/api/v1/tasks/{task['id']}/attempts", agent, body)
    if res:
        run.counts["callback_attempts"] += 1
        if outcome == "reached" and task_type != "defeat_verification":
            run.reached_tasks.append(task["id"])
        if res.get("response_id"):
            run.counts["surveys_answered"] += 1
    return True


def _set_targets(run: Run, stores: list[dict], per_day: float) -> None:
    """This month's targets per store and for the group, so that achievement rates show."""
    rng, month = run.rng, f"{run.today:%Y-%m}"
    group_targets: Counter = Counter()
    for st in stores:
        for kpi, value in (("leads", round(per_day * 30 * rng.uniform(0.9, 1.3))), ("orders", rng.randint(3, 6)),
                           ("deliveries", rng.randint(2, 5)), ("test_drives", rng.randint(4, 8))):
            group_targets[kpi] += value
            if run.http.call("PUT", "/analytics/api/v1/targets", "hq.admin",
                             {"month": month, "level": "store", "node_id": st["id"], "kpi": kpi, "value": value}):
                run.counts["targets"] += 1
    for kpi, value in group_targets.items():
        if run.http.call("PUT", "/analytics/api/v1/targets", "hq.admin",
                         {"month": month, "level": "group", "kpi": kpi, "value": value}):
            run.counts["targets"] += 1


def hq_settings(run: Run) -> None:
    """HQ re-calls every store callback until the first one the store reached is sampled, then three in ten
    (`run.spot_share`; the default is one in ten): see `crm.demo_story.store_callback`."""
    if run.http.call("PUT", "/callcenter/api/v1/settings", "hq.admin", {"spot_check_share": 1.0}):
        run.counts["settings"] += 1


def change_cadence(run: Run) -> None:
    """HQ tightens the follow-up cadence of B leads by two days: due dates move, planned ones do not."""
    rules = run.http.call("GET", "/leads/api/v1/settings", "hq.admin")
    if rules and run.http.call("PUT", "/leads/api/v1/settings", "hq.admin", {
            "cadence_days": {**rules["cadence_days"], "B": max(1, rules["cadence_days"]["B"] - 2)}}):
        run.counts["cadence_changes"] += 1


#: complaints opened from reached callbacks, one ending in each state: (opened days ago, severity, what the
#: customer said, then (days ago, hour, who, action, note)); the high one stays open past its 24 h SLA
COMPLAINTS = [
    (12, "medium", "交车时发现后保险杠有划痕，销售顾问答应处理后一直没有回音",
     [(11, 10, "manager", "start", ""), (10, 15, "manager", "resolve", "已免费补漆，并赠送一次基础保养"),
      (8, 11, "agent", "confirm", "客户确认问题已解决，认可处理结果")]),
    (12, "low", "上牌手续比约定晚了一周，没有人主动告知进度",
     [(11, 11, "manager", "start", ""), (10, 16, "manager", "resolve", "已向客户致歉并说明原因"),
      (8, 11, "agent", "reopen", "客户表示临时牌照到期仍未拿到正式牌照")]),
    (8, "medium", "保养等待时间超过三个小时，休息区没有人接待", [(6, 14, "manager", "resolve", "已调整预约排班，并致电客户道歉")]),
    (4, "high", "车辆交付后发现导航无法使用，多次联系门店无人处理", []),
    (1, "medium", "金融方案的月供与签约时说的不一致", [(1, 15, "manager", "start", "")]),
]


def _plan_complaints(run: Run, stores: list[dict]) -> None:
    code_of = {st["id"]: st["code"] for st in stores}
    opened: dict[int, dict] = {}
    for n, (ago, severity, summary, moves) in enumerate(COMPLAINTS):
        run.add(local(run.day_of(ago), 11, 30 + n), partial(open_complaint, run, n, severity, summary, opened))
        for m_ago, hour, who, action, note in moves:
            run.add(local(run.day_of(m_ago), hour, 5 + n),
                    partial(move_complaint, run, opened, n, who, action, note, code_of))


def open_complaint(run: Run, n: int, severity: str, summary: str, opened: dict[int, dict]) -> None:
    """An agent records what a customer complained of on a callback (the n-th reached one)."""
    if n >= len(run.reached_tasks):
        return
    c = run.http.call("POST", "/callcenter/api/v1/complaints", "cc.agent1",
                      {"task_id": run.reached_tasks[n], "severity": severity, "summary": summary})
    if c:
        opened[n] = c
        run.counts["complaints"] += 1


def move_complaint(run: Run, opened: dict[int, dict], n: int, who: str, action: str, note: str,
                   code_of: dict[str, str]) -> None:
    c = opened.get(n)
    if c is None:
        return
    user = f"{code_of[c['store_id']]}.manager" if who == "manager" else "cc.agent1"
    if run.http.call("POST", f"/callcenter/api/v1/complaints/{c['id']}/transitions", user,
                     {"action": action, "note": note}):
        run.counts[f"complaints_{action}"] += 1
