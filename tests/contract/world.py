"""A small world to attack: records owned by one known store and consultant, and a second group.

Everything is made through the public APIs as the users who would make it (so the same builder
works against any running platform), and every record is found again through the APIs. The
owner is `sh-toyota-pd` of the demo group, consultant `sh-toyota-pd.sales1`; the second group,
`north`, has the same shape and its own copy of each kind of record.

`World.ids[group]` maps an OpenAPI path parameter name (`lead_id`, `customer_id`, …) to a record of
that group; `World.owned_by_consultant` names the records a colleague consultant must not see;
`World.markers[group]` are strings (names, phones, VINs) that only that group's rows contain.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from shared import clock
from shared.bus.relay import wait_until

SH = ZoneInfo("Asia/Shanghai")
OWNER_STORE = "sh-toyota-pd"
CONSULTANT = f"{OWNER_STORE}.sales1"
MANAGER = f"{OWNER_STORE}.manager"
GROUPS = ("demo", "north")
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
#: path parameters that name a kind of thing, not a record: a value valid in every group
NOT_IDS = {"kind": "vehicles", "task_type": "delivery_callback", "version": "1"}
#: records of the leads service a colleague consultant must not see (a consultant sees their own leads)
CONSULTANT_OWNED = ("lead_id", "td_id", "order_id", "defeat_id", "report_id", "item_id")


def mobile() -> str:
    return "139" + "".join(random.choices("0123456789", k=8))


def vin() -> str:
    return "LVG" + "".join(random.choices(VIN_CHARS, k=14))


@dataclass
class World:
    ids: dict[str, dict[str, str]] = field(default_factory=dict)  # group -> path parameter -> id
    markers: dict[str, list[str]] = field(default_factory=dict)  # group -> strings only its rows contain
    groups: dict[str, str] = field(default_factory=dict)  # group code -> group id

    @property
    def owned_by_consultant(self) -> tuple[str, ...]:
        return CONSULTANT_OWNED


class _Caller:
    """JSON calls as one user of one group, through whatever client the platform is reached by."""

    def __init__(self, api, group: str):
        self.api, self.group = api, group

    def __call__(self, method: str, path: str, user: str, json=None, expect=(200, 201, 202), **kw) -> dict:
        r = self.api.client.open(path, method=method, json=json, headers=self.api.headers(user, self.group), **kw)
        assert r.status_code in expect, (self.group, user, method, path, r.status_code, r.get_data(as_text=True)[:500])
        return r.json if r.is_json else {}

    def eventually(self, method: str, path: str, user: str, json=None, **kw):
        """The answer once it is a success with content (the services learn from events, asynchronously)."""
        def ready():
            r = self.api.client.open(path, method=method, json=json, headers=self.api.headers(user, self.group), **kw)
            return r.json if r.status_code < 300 and r.json else None

        return wait_until(ready, timeout=60, interval=0.2)


def build_group(api, group: str) -> tuple[dict[str, str], list[str]]:
    """The records of one group, owned by `sh-toyota-pd` and its consultant sales1."""
    call = _Caller(api, group)
    tag = f"{group}-{uuid.uuid4().hex[:8]}"
    ids: dict[str, str] = {}
    org = call("GET", "/identity/api/v1/org", "hq.admin")
    stores = {s["code"]: s for s in org["stores"]}
    ids["store_id"] = stores[OWNER_STORE]["id"]
    users = call("GET", "/identity/api/v1/users", "hq.admin")
    ids["user_id"] = next(u["id"] for u in users if u["username"] == CONSULTANT)
    today = clock.now().date()

    # leads: a lead worked up to a delivered order, and one proposed as defeated
    phone, name = mobile(), f"客户{tag}"
    lead = call.eventually("POST", "/leads/api/v1/leads", CONSULTANT,  # once leads knows the group's stores
                           {"name": name, "phone": phone, "source": "walk_in", "model": "凯美瑞"})
    ids["lead_id"] = lead["id"]
    call("POST", f"/leads/api/v1/leads/{lead['id']}/follow-ups", CONSULTANT,
         {"kind": "call", "outcome": "reached", "note": f"note {tag}"})
    td = call("POST", f"/leads/api/v1/leads/{lead['id']}/test-drives", CONSULTANT, {"model": "凯美瑞"})
    ids["td_id"] = td["id"]
    order = call("POST", f"/leads/api/v1/leads/{lead['id']}/orders", CONSULTANT,
                 {"model": "凯美瑞", "price": 189800, "deposit": 5000, "payment_method": "cash"})
    ids["order_id"] = order["id"]
    car = vin()
    call("POST", f"/leads/api/v1/orders/{order['id']}/delivery", CONSULTANT,
         {"vin": car, "delivered_on": clock.now().astimezone(SH).date().isoformat()})  # the day it was signed
    lost = call("POST", "/leads/api/v1/leads", CONSULTANT, {"name": f"战败{tag}", "phone": mobile(),
                                                            "source": "phone_in"})
    ids["defeat_id"] = call("POST", f"/leads/api/v1/leads/{lost['id']}/defeat", CONSULTANT,
                            {"reason": "price", "competitor_brand": "本田"})["id"]
    # identity: the manager's to-do item of that defeat (made from leads' event)
    ids["item_id"] = wait_until(lambda: next((i["id"] for i in call("GET", "/identity/api/v1/inbox", MANAGER)["items"]
                                              if i["ref"] == lost["id"]), None), timeout=60, interval=0.2)

    # yesterday's report is past its deadline (unless it is a weekend day before Monday 09:30): reopened first
    call("POST", "/leads/api/v1/reports/reopenings", MANAGER, {
        "day": (today - timedelta(days=1)).isoformat(), "consultant_id": ids["user_id"], "reason": "补报"},
        expect=(201, 422))
    report = call("POST", "/leads/api/v1/reports", CONSULTANT,
                  {"day": (today - timedelta(days=1)).isoformat(), "figures": {"calls": 3}}, expect=(201,))
    ids["report_id"] = report["id"]
    job = call("POST", "/leads/api/v1/imports", MANAGER, expect=(202,),
               data=f"name,phone,source\n导入{tag},{mobile()},walk_in\n".encode(), content_type="text/csv")
    ids["job_id"] = job["id"]

    # customers: the buyer (matched from the lead), a record of the store's own, its DMS feeds and a merge
    ids["customer_id"] = call.eventually("GET", f"/customers/api/v1/customers?phone={phone}", MANAGER)[0]["id"]
    call("POST", "/customers/api/v1/service-visits", MANAGER,
         {"customer_name": name, "phone": phone, "repair_order": f"RO-{tag}", "visit_date": today.isoformat(),
          "kind": "maintenance", "vin": car, "amount": "880.00"}, expect=(200, 201))
    call("POST", "/customers/api/v1/insurance-policies", MANAGER,
         {"customer_name": name, "phone": phone, "policy_no": f"P-{tag}", "insurer": "平安保险", "vin": car,
          "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=365)).isoformat(),
          "premium": "5200.00"}, expect=(200, 201))
    twin_phone = mobile()
    twin = call("POST", "/customers/api/v1/customers", CONSULTANT, {"name": f"双{tag}", "phone": twin_phone},
                expect=(201,))
    other = call("POST", "/customers/api/v1/customers", CONSULTANT, {"name": f"双{tag}", "phone": mobile()},
                 expect=(201,))
    ids["merge_id"] = call("POST", f"/customers/api/v1/customers/{twin['id']}/merge", MANAGER,
                           {"other_id": other["id"], "reason": "same person"})["id"]
    matches = call("GET", "/customers/api/v1/matches?status=all", "hq.admin")
    if matches:
        ids["candidate_id"] = matches[0]["id"]

    # call center: the delivery callback, a complaint, a spot-checked store callback, a questionnaire
    ids["task_id"] = call.eventually("GET", f"/callcenter/api/v1/tasks?lead_id={lead['id']}", "hq.admin")[0]["id"]
    call.eventually("GET", f"/callcenter/api/v1/contacts/{ids['customer_id']}", "hq.admin")
    ids["complaint_id"] = call("POST", "/callcenter/api/v1/complaints", "cc.agent1",
                               {"store_id": ids["store_id"], "customer_id": ids["customer_id"], "severity": "high",
                                "summary": f"投诉{tag}"}, expect=(201,))["id"]
    # a 404 until callcenter has learnt the store's relationship with the customer (a later event than the contact)
    wait_until(lambda: call("POST", "/callcenter/api/v1/store-callbacks", MANAGER,
                            {"customer_id": ids["customer_id"], "kind": "delivery_callback", "reached": True,
                             "satisfaction": 4}, expect=(201, 404)).get("id"), timeout=60, interval=0.2)
    q = call("POST", "/callcenter/api/v1/questionnaires", "hq.admin",
             {"task_type": "delivery_callback", "name": f"问卷{tag}",
              "questions": [{"key": "overall", "type": "satisfaction5", "text": "满意吗", "measure": "satisfaction"}]},
             expect=(201,))
    ids["qid"] = q["id"]

    # analytics: a target of the store
    month = today.strftime("%Y-%m")
    ids["target_id"] = call.eventually("PUT", "/analytics/api/v1/targets", "hq.admin",
                                       {"month": month, "level": "store", "node_id": ids["store_id"], "kpi": "orders",
                                        "value": 12})["id"]
    markers = [name, phone, car, f"投诉{tag}", f"双{tag}", f"导入{tag}", f"RO-{tag}", f"P-{tag}"]
    return ids, markers
