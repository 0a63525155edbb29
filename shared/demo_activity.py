"""Believable activity for the demo group (design §7), through the services' public HTTP APIs only.

`serve()` runs it once, right after the demo group was created, so that a demo user who logs in
finds leads at every level, a call-center queue with work due now and dashboards with numbers.

Everything goes through `werkzeug.test.Client(platform.wsgi())` as the demo users. Older activity
is dated by moving the platform clock (`shared.clock.travel_to`) before each step: the tokens are
obtained first, at the real time, and the services verify them against the real time, so they stay
valid while the clock is in the past. Deliveries are dated with the API's own `delivered_on`.
Deterministic for a given seed (random.Random(seed), Faker('zh_CN') seeded).
"""
from __future__ import annotations

import base64
import json
import logging
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from werkzeug.test import Client

from shared import clock

log = logging.getLogger(__name__)

GROUP = "demo"
PASSWORD = "demo-pass-2026"
TZ = ZoneInfo("Asia/Shanghai")
CONSULTANTS = 5

MODELS = {
    "toyota": [("凯美瑞", 189800), ("卡罗拉", 119800), ("RAV4荣放", 179800), ("汉兰达", 269800), ("亚洲龙", 209800)],
    "lexus": [("ES 300h", 329000), ("RX 350h", 479000), ("NX 260", 299000), ("UX 260h", 259000)],
    "vw": [("帕萨特", 189900), ("途观L", 219900), ("朗逸", 109900), ("迈腾", 199900), ("ID.4 CROZZ", 199900)],
}
WMI = {"toyota": ["LVG", "LFM"], "lexus": ["JTH", "JTJ"], "vw": ["LSV", "LFV"]}
COLOURS = ["珍珠白", "曜石黑", "铂金银", "深海蓝", "宝石红", "钛金灰"]
SOURCES = [("walk_in", 26), ("phone_in", 14), ("online", 16), ("owner_referral", 8), ("owner_replacement", 6),
           ("advertising", 6), ("event", 8), ("internal_referral", 4), ("informant", 2),
           ("targeted_prospecting", 2), ("area_canvassing", 2), ("service_customer", 6)]
LEVEL_SIGNALS = {"C": ["looked_and_left", "took_brochure", "compared_competitors"],
                 "B": ["qualified_buyer", "hesitating_between_models"],
                 "A": ["says_will_buy", "deciding_between_models"],
                 "H": ["terms_negotiated", "purchase_date_fixed", "next_meeting_booked"]}
RANK = {"N": 0, "C": 1, "B": 2, "A": 3, "H": 4}
INSURERS = ["中国人保", "平安保险", "太平洋保险", "中华联合", "大地保险"]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
PHONE_PREFIXES = ["133", "135", "136", "137", "138", "139", "150", "151", "158", "159", "177", "186", "188", "189"]
NOTES = ["周末带家人再来看车", "关注油耗和保值率", "想要现车", "对比了竞品", "预算有限，关注金融方案",
         "置换旧车，想了解评估价", "公司用车", "首购，第一辆车"]
COMPETITORS = [("本田", "雅阁"), ("日产", "天籁"), ("别克", "君越"), ("比亚迪", "汉"), ("特斯拉", "Model Y"),
               ("宝马", "3系"), ("奔驰", "C级")]


class DemoSeedError(RuntimeError):
    pass


class _Http:
    """JSON calls as a demo user; counts calls and failures."""

    def __init__(self, wsgi):
        self.wsgi = wsgi
        self.client = Client(wsgi, use_cookies=False)
        self.tokens: dict[str, str] = {}
        self.user_ids: dict[str, str] = {}
        self.calls = 0
        self.errors: list[str] = []

    def login_all(self, usernames: list[str]) -> None:
        def one(username: str) -> tuple[str, str]:
            r = Client(self.wsgi, use_cookies=False).post(
                "/identity/api/v1/auth/login", json={"group": GROUP, "username": username, "password": PASSWORD})
            if r.status_code != 200:
                raise DemoSeedError(f"login {username}: {r.status_code} {r.get_data(as_text=True)[:200]}")
            return username, r.get_json()["access_token"]

        with ThreadPoolExecutor(max_workers=4) as pool:
            for username, token in pool.map(one, usernames):
                self.tokens[username] = token
                payload = token.split(".")[1]
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                self.user_ids[username] = claims["sub"]

    def call(self, method: str, path: str, user: str, body: dict | None = None, quiet: tuple[int, ...] = ()):
        r = self.client.open(path, method=method, json=body,
                             headers={"Authorization": f"Bearer {self.tokens[user]}"})
        self.calls += 1
        if r.status_code >= 300:
            if r.status_code not in quiet:
                msg = f"{method} {path} as {user}: {r.status_code} {r.get_data(as_text=True)[:300]}"
                self.errors.append(msg)
                log.warning("demo activity: %s", msg)
            return None
        return r.get_json() if r.data else {}


def _local(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, dtime(hh, mm), TZ).astimezone(UTC)


def seed_activity(platform, days: int = 60, seed: int = 2026, leads_per_store: int = 20) -> dict:
    """Create `days` days of activity for the demo group; returns counts of what was created."""
    started = time.monotonic()
    from faker import Faker

    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    http = _Http(platform.wsgi())
    counts: Counter = Counter()

    real_now = clock.now()  # the run's own time: the real time except in a test run started at a given instant
    today = real_now.astimezone(TZ).date()
    limit = real_now - timedelta(minutes=2)  # nothing may happen in the future

    # --- who and where (at the real time: tokens must verify against the real clock) ----------------
    http.login_all(["hq.admin"])
    org = http.call("GET", "/identity/api/v1/org", "hq.admin")
    if org is None:
        raise DemoSeedError("cannot read the org tree: " + "; ".join(http.errors))
    brand_code = {b["id"]: b["code"] for b in org["brands"]}
    stores = [{"id": s["id"], "code": s["code"], "brand": brand_code.get(s["brand_id"], "toyota")}
              for s in sorted(org["stores"], key=lambda s: s["code"])]
    users = ["cc.agent1", "cc.agent2"]
    for st in stores:
        users += [f"{st['code']}.manager"] + [f"{st['code']}.sales{i}" for i in range(1, CONSULTANTS + 1)]
    http.login_all(users)

    # --- the plan: (when, seq, step) -----------------------------------------------------------------
    plan: list[tuple[datetime, int, object]] = []

    def add(when: datetime, fn) -> bool:
        if when > limit:
            return False
        plan.append((when, len(plan), fn))
        return True

    used_phones: set[str] = set()

    def phone() -> str:
        while True:
            p = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if p not in used_phones:
                used_phones.add(p)
                return p

    def vin(brand: str) -> str:
        return rng.choice(WMI[brand]) + "".join(rng.choice(VIN_CHARS) for _ in range(14))

    def day_of(offset: int) -> date:
        return today - timedelta(days=offset)

    def plan_lead(st: dict, k: int, age: int, fate: str | None = None, delivery_ago: int | None = None) -> None:
        brand = st["brand"]
        seller = f"{st['code']}.sales{rng.randint(1, CONSULTANTS)}"
        manager = f"{st['code']}.manager"
        source = rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0]
        model, price = rng.choice(MODELS[brand])
        L = {"id": None, "order_id": None, "level": "N", "name": fake.name(), "phone": phone(), "model": model}
        d0 = day_of(age)
        t0 = _local(d0, rng.randint(9, 17), rng.choice((0, 10, 20, 30, 40, 50)))
        if fate is None:
            if age <= 1:
                fate = rng.choices(["N", "C", "B"], [5, 3, 2])[0]
            else:
                fate = rng.choices(["C", "B", "A", "H", "O", "delivered", "defeated", "invalid"],
                                   [20, 22, 13, 8, 9, 13, 11, 2])[0]
                if fate == "delivered" and age < 10:
                    fate = "O" if age >= 3 else "A"
                if fate == "O" and age < 3:
                    fate = "A"
                if fate == "defeated" and age < 4:
                    fate = "C"

        def create():
            if source in ("walk_in", "phone_in"):
                body = {"kind": source, "name": L["name"], "phone": L["phone"], "model": model,
                        "party_size": rng.choice((1, 1, 2, 2, 3))}
                if source == "walk_in":
                    body["time_in"] = clock.now().isoformat()
                    body["time_out"] = (clock.now() + timedelta(minutes=rng.randint(20, 90))).isoformat()
                r = http.call("POST", "/leads/api/v1/visits", seller, body)
                if r:
                    counts["visits"] += 1
                    L["id"] = r.get("lead_id")
            else:
                r = http.call("POST", "/leads/api/v1/leads", seller, {
                    "name": L["name"], "phone": L["phone"], "source": source, "model": model,
                    "note": rng.choice(NOTES) if rng.random() < 0.5 else None})
                if r:
                    L["id"] = r["id"]
            if L["id"]:
                counts["leads"] += 1

        add(t0, create)

        def follow_up(kind: str, outcome: str, level: str | None):
            def fn():
                if not L["id"]:
                    return
                body = {"kind": kind, "outcome": outcome, "note": rng.choice(NOTES) if rng.random() < 0.3 else None}
                if level and (level == "invalid" or RANK.get(level, 0) > RANK.get(L["level"], 9)):
                    body["level"] = level
                    body["signals"] = rng.sample(LEVEL_SIGNALS[level], 1) if level in LEVEL_SIGNALS else []
                if http.call("POST", f"/leads/api/v1/leads/{L['id']}/follow-ups", seller, body):
                    counts["follow_ups"] += 1
                    if "level" in body:
                        L["level"] = level
                        counts["gradings"] += 1
            return fn

        # first response, and the first judgement of the lead
        t1 = t0 + timedelta(minutes=rng.randint(8, 150))
        if fate == "N":
            if rng.random() < 0.5:
                add(t1, follow_up("call", "no_answer", None))
            return
        if fate == "invalid":
            add(t1, follow_up("call", "not_interested", "invalid"))
            return
        target = fate if fate in RANK else ("C" if fate == "defeated" and rng.random() < 0.5 else
                                            rng.choice(("B", "A")) if fate == "defeated" else rng.choice(("A", "H")))
        first = "C" if target == "C" or rng.random() < 0.4 else "B"
        kind = "visit" if source == "walk_in" else "call"
        if not add(t1, follow_up(kind, "reached", first)):
            return
        last = t1
        # a second contact a few days later raises the level; a test drive goes with it
        if RANK[target] > RANK[first] and age >= 2:
            t2 = _local(day_of(age - rng.randint(1, min(age - 1, 6))), rng.randint(10, 17),
                        rng.choice((0, 15, 30, 45)))
            if add(t2, follow_up("visit", rng.choice(("visited_showroom", "appointment")), target)):
                last = t2
                if rng.random() < 0.7:
                    td = {}

                    def book():
                        if L["id"]:
                            r = http.call("POST", f"/leads/api/v1/leads/{L['id']}/test-drives", seller,
                                          {"model": model})
                            td["id"] = r and r["id"]

                    def complete():
                        if td.get("id") and http.call("POST", f"/leads/api/v1/test-drives/{td['id']}/complete", seller):
                            counts["test_drives"] += 1

                    add(t2 + timedelta(minutes=5), book)
                    add(t2 + timedelta(minutes=50), complete)
                    last = t2 + timedelta(minutes=50)
        elif target == "B" and age >= 2 and rng.random() < 0.4:
            t2 = _local(day_of(age - rng.randint(1, min(age - 1, 6))), rng.randint(10, 17), 0)
            add(t2, follow_up("sms_wechat", "reached", None))
            last = max(last, t2)

        if fate in ("O", "delivered"):
            lo_days = (last.astimezone(TZ).date() - d0).days + 1
            if delivery_ago is not None:
                order_day = day_of(delivery_ago + rng.randint(5, 10))
            else:
                min_ago = 8 if fate == "delivered" else 0
                order_day = day_of(rng.randint(min_ago, max(min_ago, min(age - lo_days, min_ago + 20))))
            t_order = max(_local(order_day, rng.randint(10, 17), 30), last + timedelta(minutes=30))
            deposit = rng.choice((5000, 10000, 20000))
            pay = rng.choices(("cash", "financing", "installment", "lease"), [4, 4, 1, 1])[0]

            def order():
                if not L["id"]:
                    return
                r = http.call("POST", f"/leads/api/v1/leads/{L['id']}/orders", seller, {
                    "model": model, "colour": rng.choice(COLOURS), "price": str(price - rng.choice((0, 3000, 8000))),
                    "deposit": str(deposit), "payment_method": pay, "trade_in": source == "owner_replacement",
                    "expected_delivery": (clock.now().astimezone(TZ).date() + timedelta(days=10)).isoformat(),
                    "customer_kind": "corporate" if rng.random() < 0.08 else "individual",
                    "signals": ["deposit_paid", "model_colour_chosen"]})
                if r:
                    L["order_id"] = r["id"]
                    counts["orders"] += 1

            if not add(t_order, order) or fate != "delivered":
                return
            if delivery_ago is not None:
                d_day = day_of(delivery_ago)
            else:
                d_day = min(t_order.astimezone(TZ).date() + timedelta(days=rng.randint(5, 14)), day_of(1))
            t_deliv = max(_local(d_day, rng.randint(10, 16), 0), t_order + timedelta(hours=1))
            car = {"vin": vin(brand)}

            def deliver():
                on = t_deliv.astimezone(TZ).date().isoformat()
                if L["order_id"] and http.call("POST", f"/leads/api/v1/orders/{L['order_id']}/delivery", seller,
                                               {"vin": car["vin"], "delivered_on": on}):
                    counts["deliveries"] += 1
                    L["delivered"] = True

            def insure():
                if not L.get("delivered"):
                    return
                start = t_deliv.astimezone(TZ).date()
                if http.call("POST", "/customers/api/v1/insurance-policies", manager, {
                        "customer_name": L["name"], "phone": L["phone"], "vin": car["vin"],
                        "policy_no": f"PDAA{start:%Y}{rng.randrange(10**10):010d}", "insurer": rng.choice(INSURERS),
                        "starts_on": start.isoformat(), "ends_on": (start + timedelta(days=364)).isoformat(),
                        "premium": str(rng.randint(45, 120) * 100)}):
                    counts["insurance_policies"] += 1

            if add(t_deliv, deliver) and rng.random() < 0.7:
                add(t_deliv + timedelta(hours=1), insure)
            return

        if fate == "defeated":
            t_def = max(_local(day_of(max(1, age - rng.randint(3, min(age - 1, 14)))), rng.randint(10, 17), 0),
                        last + timedelta(minutes=30))
            reason = rng.choices(("price", "competitor", "financing", "postponed", "other"), [3, 4, 1, 2, 1])[0]
            dfx = {}

            def propose():
                if not L["id"]:
                    return
                body = {"reason": reason, "note": "客户已决定"}
                if reason == "competitor":
                    body["competitor_brand"], body["competitor_model"] = rng.choice(COMPETITORS)
                r = http.call("POST", f"/leads/api/v1/leads/{L['id']}/defeat", seller, body)
                if r:
                    dfx["id"] = r["id"]
                    counts["defeat_proposals"] += 1

            approve = rng.random() < 0.85

            def decide():
                if dfx.get("id") and http.call("POST", f"/leads/api/v1/defeats/{dfx['id']}/decision", manager,
                                               {"approve": approve, "note": None if approve else "再跟进一次"}):
                    counts["defeats_approved" if approve else "defeats_sent_back"] += 1

            if add(t_def, propose):
                add(t_def + timedelta(hours=rng.randint(2, 20)), decide)
            return

        # open leads: some were contacted recently, the rest show up as overdue
        if rng.random() < 0.35 and age >= 2:
            add(_local(day_of(rng.randint(0, 1)), rng.randint(9, 11), rng.choice((5, 25, 45))),
                follow_up(rng.choice(("call", "sms_wechat")), "reached", None))

    for st in stores:
        for k in range(leads_per_store):
            if k < 2:  # deliveries 3-6 days ago: their day-3 callbacks are due now
                plan_lead(st, k, age=rng.randint(16, 40), fate="delivered", delivery_ago=rng.randint(3, 6))
            else:
                plan_lead(st, k, age=rng.randint(0, days - 1))

        manager = f"{st['code']}.manager"
        # visitor-log lines without a phone (passers-by who left no number)
        for _ in range(2):
            def passer_by(manager=manager, model=rng.choice(MODELS[st["brand"]])[0]):
                if http.call("POST", "/leads/api/v1/visits", manager,
                             {"kind": "walk_in", "model": model, "party_size": 1, "note": "看车未留电话"}):
                    counts["visits"] += 1
            off = rng.randint(0, days - 1)
            add(_local(day_of(off), rng.randint(10, 17), 15), passer_by)

        # DMS: owners of older cars come in for service
        for j in range(2):
            model = rng.choice(MODELS[st["brand"]])[0]
            owner = {"customer_name": fake.name(), "phone": phone(), "vin": vin(st["brand"]), "model": model,
                     "plate": rng.choice(("沪", "浙", "苏")) + rng.choice("ABCDEFG") + f"{rng.randrange(10**5):05d}"}
            bought = today - timedelta(days=rng.randint(400, 1400))
            visit_ago = rng.randint(2, 5) if j == 0 else rng.randint(6, days - 1)
            when = _local(day_of(visit_ago), rng.randint(9, 15), 30)

            def dms(st=st, owner=owner, bought=bought, when=when, j=j):
                if http.call("POST", "/customers/api/v1/vehicles", f"{st['code']}.manager", {
                        **owner, "purchase_date": bought.isoformat(), "selling_store_id": st["id"],
                        "mileage": rng.randint(8000, 90000)}):
                    counts["vehicles"] += 1
                if http.call("POST", "/customers/api/v1/service-visits", f"{st['code']}.manager", {
                        **owner, "repair_order": f"RO{when:%y%m%d}{rng.randrange(10**4):04d}",
                        "visit_date": when.astimezone(TZ).date().isoformat(),
                        "kind": rng.choice(("maintenance", "maintenance", "repair")),
                        "mileage": rng.randint(8000, 90000), "amount": str(rng.randint(4, 40) * 100)}):
                    counts["service_visits"] += 1

            add(when, dms)

        # daily reports: sales1 for the last two days, the manager's store report for yesterday
        for off in (2, 1):
            def report(st=st, off=off):
                if http.call("POST", "/leads/api/v1/reports", f"{st['code']}.sales1", {
                        "day": day_of(off).isoformat(), "kind": "consultant",
                        "figures": {"negotiations": rng.randint(0, 4)}}):
                    counts["daily_reports"] += 1
            add(_local(day_of(off), 17, 40), report)

        def store_report(st=st):
            if http.call("POST", "/leads/api/v1/reports", f"{st['code']}.manager", {
                    "day": day_of(1).isoformat(), "kind": "store", "figures": {"negotiations": rng.randint(2, 9)}}):
                counts["daily_reports"] += 1
        add(_local(day_of(1), 17, 50), store_report)

    # call-center sessions every 4 days: agents work the due callbacks (the last 3 days stay open)
    answers = {
        "delivery_callback": lambda: {
            "overall": str(rng.choices((5, 4, 3, 2), [6, 3, 1, 0.4])[0]),
            "explained": "yes" if rng.random() < 0.9 else "no", "on_time": "yes" if rng.random() < 0.85 else "no",
            "recommend": str(rng.choices(range(11), [0.2, 0.1, 0.2, 0.2, 0.3, 0.5, 0.7, 1, 2, 3, 3])[0]),
            "repurchase": rng.choices(("high", "medium", "low"), [5, 3, 1])[0], "comments": ""},
        "service_callback": lambda: {
            "overall": str(rng.choices((5, 4, 3, 2), [5, 3, 1, 0.5])[0]),
            "fixed": "yes" if rng.random() < 0.9 else "no",
            "waiting": rng.choice(("short", "ok", "ok", "long")),
            "recommend": str(rng.randint(6, 10)), "comments": ""},
        "defeat_verification": lambda: {
            "bought_elsewhere": "yes" if rng.random() < 0.6 else "no",
            "reason": rng.choice(("price", "competitor", "financing", "postponed", "other")),
            "overall": str(rng.choice((3, 4, 4, 5)))},
    }

    def cc_session(session_no: int):
        def fn():
            platform.wait_until_consumed(timeout=60)  # the tasks of the events so far exist
            agent = ("cc.agent1", "cc.agent2")[session_no % 2]
            for task_type, cap in (("defeat_verification", 6), ("delivery_callback", 12), ("service_callback", 4)):
                for _ in range(cap):
                    r = http.call("POST", "/callcenter/api/v1/tasks/next", agent, {"task_type": task_type})
                    task = r and r.get("task")
                    if not task:
                        break
                    outcome = rng.choices(("reached", "no_answer", "busy"), [8, 1.5, 0.5])[0]
                    body = {"outcome": outcome, "note": "客户满意" if outcome == "reached" else ""}
                    if outcome == "reached":
                        body["answers"] = answers[task_type]()
                    res = http.call("POST", f"/callcenter/api/v1/tasks/{task['id']}/attempts", agent, body)
                    if res:
                        counts["callback_attempts"] += 1
                        if res.get("response_id"):
                            counts["surveys_answered"] += 1
        return fn

    for n, off in enumerate(range(days - 4, 3, -4)):
        add(_local(day_of(off), 10, 15), cc_session(n))

    # --- run it, in time order ----------------------------------------------------------------------
    plan.sort(key=lambda x: (x[0], x[1]))
    try:
        for when, _, fn in plan:
            clock.travel_to(when)
            fn()
    finally:
        clock.reset()

    # --- this month's targets, so that achievement rates show ---------------------------------------
    month = f"{today:%Y-%m}"
    per_day = leads_per_store / days
    group_targets = Counter()
    for st in stores:
        for kpi, value in (("leads", round(per_day * 30 * rng.uniform(0.9, 1.3))), ("orders", rng.randint(3, 6)),
                           ("deliveries", rng.randint(2, 5)), ("test_drives", rng.randint(4, 8))):
            group_targets[kpi] += value
            if http.call("PUT", "/analytics/api/v1/targets", "hq.admin",
                         {"month": month, "level": "store", "node_id": st["id"], "kpi": kpi, "value": value}):
                counts["targets"] += 1
    for kpi, value in group_targets.items():
        if http.call("PUT", "/analytics/api/v1/targets", "hq.admin",
                     {"month": month, "level": "group", "kpi": kpi, "value": value}):
            counts["targets"] += 1

    platform.wait_until_consumed(timeout=120)
    out = dict(sorted(counts.items()))
    out.update(requests=http.calls, errors=len(http.errors), error_samples=http.errors[:5],
               seconds=round(time.monotonic() - started, 1))
    return out
