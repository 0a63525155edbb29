"""Personal data: masked phones, 404 outside the store's customers, logged reads and reveals, consent, erasure."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from services.customers.adapters.models import AccessLog, Customer, Identifier
from services.identity.entrypoints.seed import stable_id
from tests.conftest import store_id

from .helpers import feed, id_number, mobile, outbox_events, system_session


def _lead(platform, phone: str, store: str, brand: str, consultant: str | None = None, name: str = "郑六") -> str:
    feed(platform, "leads.lead.created", {"lead_id": str(uuid.uuid4()), "name": name, "phone": phone,
                                          "source": "walk_in", "level": "B", "consultant_id": consultant},
         store=store, brand=brand)
    with system_session(platform) as s:
        return s.scalar(select(Customer.id).where(Customer.phone == f"+86{phone}"))


def _user_id(platform, username: str) -> str:
    from services.identity.adapters.models import User
    from shared.tenancy import Scope

    with platform.runtimes["identity"].db.session(Scope.system()) as s:
        return s.scalar(select(User.id).where(User.username == username))


def test_store_user_sees_masked_phone_of_customers_not_theirs_404_for_strangers_and_reads_are_logged(
        customers_ready, api):
    platform = customers_ready
    phone = mobile()
    cid = _lead(platform, phone, "sh-toyota-pd", "toyota", consultant=_user_id(platform, "sh-toyota-pd.sales1"))
    other_phone = mobile()
    stranger = _lead(platform, other_phone, "hz-vw-xh", "vw")

    own = api.get(f"/customers/api/v1/customers/{cid}/360", as_="sh-toyota-pd.sales1")
    assert own.status_code == 200 and own.json["profile"]["phone"] == f"+86{phone}"
    colleague = api.get(f"/customers/api/v1/customers/{cid}/360", as_="sh-toyota-pd.sales2")
    assert colleague.json["profile"]["phone"] == f"+86 {phone[:3]}****{phone[-4:]}"
    analyst = api.get(f"/customers/api/v1/customers?phone={phone}", as_="hq.analyst").json
    assert analyst[0]["phone"].count("*") == 4

    assert api.get(f"/customers/api/v1/customers/{stranger}/360", as_="sh-toyota-pd.sales2").status_code == 404
    assert api.get(f"/customers/api/v1/customers/{stranger}", as_="sh-toyota-pd.manager").status_code == 404
    assert api.get(f"/customers/api/v1/customers?phone={other_phone}", as_="sh-toyota-pd.manager").json == []
    assert api.put(f"/customers/api/v1/customers/{stranger}/consent", as_="sh-toyota-pd.manager",
                   json={"do_not_call": True}).status_code == 404

    assert api.post(f"/customers/api/v1/customers/{cid}/reveal", as_="sh-toyota-pd.sales2",
                    json={"field": "phone", "reason": "客户来电要求回拨"}).status_code == 403
    r = api.post(f"/customers/api/v1/customers/{cid}/reveal", as_="cc.sup",
                 json={"field": "phone", "reason": "客户来电要求回拨"})
    assert r.status_code == 200 and r.json["value"] == f"+86{phone}"
    with system_session(platform) as s:
        log = [(a.username, a.action) for a in s.scalars(select(AccessLog).where(AccessLog.customer_id == cid)
                                                         .order_by(AccessLog.at))]
    assert log == [("sh-toyota-pd.sales1", "view_360"), ("sh-toyota-pd.sales2", "view_360"),
                   ("cc.sup", "reveal_phone")]
    listed = api.get(f"/customers/api/v1/access-log?customer_id={cid}", as_="hq.admin").json
    assert len(listed) == 3
    assert len(api.get(f"/customers/api/v1/access-log?customer_id={cid}", as_="sh-toyota-pd.manager").json) == 3
    assert api.get(f"/customers/api/v1/access-log?customer_id={cid}", as_="hz-vw-xh.manager").json == []
    assert api.get("/customers/api/v1/access-log", as_="cc.sup").status_code == 403


def test_other_stores_are_shown_to_exist_without_their_deals(customers_ready, api):
    platform = customers_ready
    phone = mobile()
    cid = _lead(platform, phone, "sh-toyota-pd", "toyota")
    _lead(platform, phone, "sh-lexus-pd", "lexus")
    view = api.get(f"/customers/api/v1/customers/{cid}/360", as_="sh-lexus-pd.manager").json
    assert [r["store_id"] for r in view["profile"]["relationships"]] == [store_id("sh-lexus-pd")]
    assert [o["store_name"] for o in view["profile"]["other_stores"]] == ["上海浦东丰田"]
    assert [ld["store"]["store_id"] for ld in view["leads"]] == [store_id("sh-lexus-pd")]
    assert {t["store"]["store_id"] for t in view["timeline"] if t["store"]} == {store_id("sh-lexus-pd")}
    hq = api.get(f"/customers/api/v1/customers/{cid}/360", as_="cc.agent2").json
    assert len(hq["leads"]) == 2 and len(hq["profile"]["relationships"]) == 2


def test_do_not_call_change_is_published_with_the_consent_payload(customers_ready, api):
    """The customers half of 'a do-not-call customer never appears in a callback queue'."""
    platform = customers_ready
    cid = _lead(platform, mobile(), "hz-toyota-xs", "toyota")
    r = api.put(f"/customers/api/v1/customers/{cid}/consent", as_="cc.agent1",
                json={"do_not_call": True, "consent": {"wechat": False}})
    assert r.status_code == 200 and r.json["do_not_call"] is True
    consent = [e for e in outbox_events(platform, "customers.consent.changed") if e["data"]["customer_id"] == cid]
    assert [e["data"] for e in consent] == [{"customer_id": cid, "do_not_call": True,
                                             "consent": {"phone": True, "sms": True, "wechat": False, "email": True}}]
    assert consent[0]["actor"] == _user_id(platform, "cc.agent1")
    updated = [e["data"] for e in outbox_events(platform, "customers.customer.updated")
               if e["data"]["customer_id"] == cid]
    assert updated[-1]["do_not_call"] is True
    # the same consent again changes nothing and publishes nothing
    api.put(f"/customers/api/v1/customers/{cid}/consent", as_="cc.agent1", json={"do_not_call": True})
    assert len([e for e in outbox_events(platform, "customers.consent.changed")
                if e["data"]["customer_id"] == cid]) == 1
    assert api.put(f"/customers/api/v1/customers/{cid}/consent", as_="hq.analyst",
                   json={"do_not_call": False}).status_code == 403
    assert api.put(f"/customers/api/v1/customers/{cid}/consent", as_="cc.agent1",
                   json={"consent": {"fax": True}}).status_code == 422


def test_export_then_erasure_keeps_aggregates_and_forgets_the_person(customers_ready, api):
    platform = customers_ready
    phone, idno = mobile(), id_number()
    cid = _lead(platform, phone, "wx-vw-bh", "vw", name="冯七")
    r = api.post("/customers/api/v1/service-visits", as_="wx-vw-bh.manager", json={
        "customer_name": "冯七", "phone": phone, "id_number": idno, "repair_order": "RO-1", "visit_date": "2026-08-08",
        "kind": "accident", "amount": "8800"})
    assert r.status_code == 201 and r.json["customer_id"] == cid
    exported = api.get(f"/customers/api/v1/customers/{cid}/export", as_="hq.admin")
    assert exported.status_code == 200
    assert exported.json["profile"]["id_number"] == idno and exported.json["profile"]["phones"] == [f"+86{phone}"]
    assert len(exported.json["service_visits"]) == 1
    assert api.get(f"/customers/api/v1/customers/{cid}/export", as_="wx-vw-bh.manager").status_code == 403

    assert api.post(f"/customers/api/v1/customers/{cid}/erase", as_="hq.admin",
                    json={"reason": "客户申请删除"}).status_code == 200
    with system_session(platform) as s:
        c = s.get(Customer, cid)
        assert (c.name, c.phone, c.id_number_sealed, c.status) == ("", None, None, "erased")
        assert s.scalars(select(Identifier).where(Identifier.customer_id == cid)).all() == []
        assert str(c.spend_total) == "8800.00"  # aggregates stay
    last = [e["data"] for e in outbox_events(platform, "customers.customer.updated")
            if e["data"]["customer_id"] == cid][-1]
    assert last["name"] == "" and last["phone"] is None and last["erased"] is True and last["do_not_call"] is True
    assert api.get(f"/customers/api/v1/customers?phone={phone}", as_="hq.admin").json == []
    shell = api.get(f"/customers/api/v1/customers/{cid}/360", as_="hq.admin").json  # a link from a task still opens
    assert (shell["profile"]["status"], shell["profile"]["name"], shell["profile"]["phone"]) == ("erased", "", None)
    assert [v["amount"] for v in shell["service_visits"]] == ["8800.00"]


def test_bad_input_is_refused_with_field_errors_and_nothing_written(customers_ready, api):
    r = api.post("/customers/api/v1/service-visits", as_="hq.admin", json={
        "customer_name": "", "phone": "12345", "repair_order": "X", "visit_date": "2026-13-01", "kind": "wash"})
    assert r.status_code == 422
    assert {"customer_name", "phone", "visit_date", "kind"} <= set(r.json["errors"])
    r = api.post("/customers/api/v1/customers", as_="sh-toyota-pd.sales1", json={"name": "陈八", "phone": "abc"})
    assert r.status_code == 422 and "phone" in r.json["errors"]
    gid = stable_id("group", "demo")
    assert gid


def test_erasure_publishes_ids_only_scrubs_sent_events_and_its_own_record_keeps_no_personal_data(
        customers_ready, api):
    import json

    from services.customers.adapters.models import Activity
    from shared.privacy import pseudonym
    from tests.conftest import wait_until

    from .helpers import runtime

    platform = customers_ready
    phone, other_phone, lead_id = mobile(), mobile(), str(uuid.uuid4())
    feed(platform, "leads.lead.created", {"lead_id": lead_id, "name": "褚十三", "phone": phone,
                                          "source": "walk_in", "level": "B"}, store="nj-toyota-jn", brand="toyota")
    with system_session(platform) as s:
        cid = s.scalar(select(Customer.id).where(Customer.phone == f"+86{phone}"))
    twin = _lead(platform, other_phone, "nj-toyota-jn", "toyota", name="褚十三")  # a second record of them
    assert api.post(f"/customers/api/v1/customers/{cid}/merge", as_="hq.admin",
                    json={"other_id": twin}).status_code == 200

    rt = runtime(platform)
    t = rt.outbox

    def sent_about_them() -> list[str]:
        with rt.db.engine.connect() as conn:
            rows = conn.execute(select(t.c.body, t.c.sent_at).where(
                t.c.body.contains(cid) | t.c.body.contains(twin))).all()
        return [r.body for r in rows] if rows and all(r.sent_at for r in rows) else []

    assert any("褚十三" in body for body in wait_until(sent_about_them, timeout=20))
    free_text = f"褚十三本人来电要求删除，电话{phone}"
    r = api.post(f"/customers/api/v1/customers/{cid}/erase", as_="hq.admin", json={"reason": free_text})
    assert r.status_code == 200 and r.json["erasure_id"]
    erased = [e for e in outbox_events(platform, "customers.customer.erased") if e["data"]["customer_id"] == cid]
    assert len(erased) == 1 and set(erased[0]["data"]) == {"customer_id", "lead_ids", "erasure_id"}
    assert erased[0]["data"]["erasure_id"] == r.json["erasure_id"]
    assert lead_id in erased[0]["data"]["lead_ids"] and len(erased[0]["data"]["lead_ids"]) == 2  # the twin's too
    assert sorted(erased[0]["data"]["lead_ids"]) == _lead_ids(platform, cid)

    with rt.db.engine.connect() as conn:  # what was sent before about them no longer names them
        bodies = [json.loads(b) for (b,) in conn.execute(select(t.c.body).where(
            t.c.body.contains(cid), t.c.sent_at.is_not(None), t.c.routing_key != "customers.customer.erased"))]
    assert bodies and not any(phone in json.dumps(b, ensure_ascii=False) or "褚十三" in json.dumps(
        b, ensure_ascii=False) for b in bodies)
    assert any(b["data"].get("name") == pseudonym(cid) for b in bodies)
    with rt.db.engine.connect() as conn:
        twin_bodies = [b for (b,) in conn.execute(select(t.c.body).where(t.c.body.contains(twin),
                                                                          t.c.sent_at.is_not(None)))]
    assert twin_bodies and not any(other_phone in b for b in twin_bodies)

    with system_session(platform) as s:
        assert s.get(Customer, twin).status == "erased" and s.get(Customer, twin).name == ""
        row = s.scalar(select(AccessLog).where(AccessLog.customer_id == cid, AccessLog.action == "erase"))
        assert row.reason == "subject_request"
        trace = s.scalar(select(Activity).where(Activity.customer_id == cid, Activity.kind == "erased"))
        assert (trace.detail, trace.ref_id) == ({}, r.json["erasure_id"])
    assert api.post(f"/customers/api/v1/customers/{cid}/erase", as_="hq.admin",
                    json={"ground": "because"}).status_code in (404, 422)


def _lead_ids(platform, customer_id: str) -> list[str]:
    from services.customers.adapters.models import CustomerLead

    with system_session(platform) as s:
        return sorted(s.scalars(select(CustomerLead.lead_id).where(CustomerLead.customer_id == customer_id)))
