"""A client that lost a response retries with the same Idempotency-Key and gets the first answer."""
from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from shared import clock

from tests.conftest import store_id
from tests.leads.helpers import events

STORE = "sh-vw-jd"
SALES, MANAGER = f"{STORE}.sales1", f"{STORE}.manager"


def _lead(api) -> dict:
    r = api.post("/leads/api/v1/leads", as_=SALES, json={
        "name": "蒋先生", "phone": f"+86139{uuid.uuid4().int % 10**8:08d}", "source": "walk_in"})
    assert r.status_code == 201, r.json
    return r.json


def _key() -> dict:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_a_retried_order_returns_the_first_order_and_signs_nothing_twice(api, platform):
    lead = _lead(api)
    key = _key()
    body = {"model": "帕萨特", "price": "189900", "payment_method": "financing"}
    first = api.post(f"/leads/api/v1/leads/{lead['id']}/orders", as_=SALES, json=body, headers=key)
    assert first.status_code == 201, first.json
    again = api.post(f"/leads/api/v1/leads/{lead['id']}/orders", as_=SALES, json=body, headers=key)
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    placed = [e for e in events(platform, "leads.order.placed") if e["data"]["lead_id"] == lead["id"]]
    assert len(placed) == 1

    vin = "LSVAX4188N" + f"{uuid.uuid4().int % 10**7:07d}"
    delivery = {"vin": vin, "delivered_on": clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()}
    dkey = _key()
    d1 = api.post(f"/leads/api/v1/orders/{first.json['id']}/delivery", as_=SALES, json=delivery, headers=dkey)
    assert d1.status_code == 200, d1.json
    d2 = api.post(f"/leads/api/v1/orders/{first.json['id']}/delivery", as_=SALES, json=delivery, headers=dkey)
    assert d2.status_code == 200 and d2.json == d1.json  # not 409 "the order is delivered"


def test_the_key_belongs_to_the_caller(api, platform):
    """The same key from a colleague is another request, not a replay of someone else's answer."""
    lead = _lead(api)
    key = _key()
    mine = api.post("/leads/api/v1/visits", as_=SALES, headers=key, json={"kind": "walk_in", "lead_id": lead["id"]})
    assert mine.status_code == 201, mine.json
    theirs = api.post("/leads/api/v1/visits", as_=MANAGER, headers=key,
                      json={"kind": "walk_in", "store_id": store_id(STORE), "party_size": 2})
    assert theirs.status_code == 201, theirs.json
    assert theirs.json["id"] != mine.json["id"] and "Idempotent-Replayed" not in theirs.headers


def test_a_key_reused_for_another_request_is_refused_and_a_malformed_key_too(api, platform):
    lead = _lead(api)
    key = _key()
    r = api.post(f"/leads/api/v1/leads/{lead['id']}/follow-ups", as_=SALES, headers=key,
                 json={"kind": "call", "outcome": "reached"})
    assert r.status_code == 201, r.json
    other = _lead(api)
    r = api.post(f"/leads/api/v1/leads/{other['id']}/follow-ups", as_=SALES, headers=key,
                 json={"kind": "call", "outcome": "reached"})
    assert r.status_code == 422 and r.json["code"] == "idempotency_key_reused"
    r = api.post(f"/leads/api/v1/leads/{other['id']}/follow-ups", as_=SALES, headers={"Idempotency-Key": "a b"},
                 json={"kind": "call", "outcome": "reached"})
    assert r.status_code == 400 and "Idempotency-Key" in r.json["message"]  # refused at the edge


def test_a_refused_request_stores_no_key_so_the_corrected_retry_goes_through(api, platform):
    lead = _lead(api)
    key = _key()
    bad = api.post(f"/leads/api/v1/leads/{lead['id']}/orders", as_=SALES, headers=key,
                   json={"model": "帕萨特", "price": "-1", "payment_method": "cash"})
    assert bad.status_code == 422
    good = api.post(f"/leads/api/v1/leads/{lead['id']}/orders", as_=SALES, headers=key,
                    json={"model": "帕萨特", "price": "179900", "payment_method": "cash"})
    assert good.status_code == 201, good.json


def test_a_key_left_without_an_answer_by_older_code_gets_a_final_answer_not_retry_for_ever(api, platform):
    """Keys written before answers were stored with the create (status NULL): the create was applied
    with the key, so it must not run again; a young one is "in progress, retry", an old one final."""
    from sqlalchemy import insert

    from shared.db import utcnow
    from shared.idempotency import ANSWER_WAIT, idempotency_table
    from shared.tenancy import Scope

    me = api.get("/identity/api/v1/auth/me", as_=SALES).json
    rt = platform.runtimes["leads"]
    table = idempotency_table(rt.base.metadata)
    body = {"model": "帕萨特", "price": "189900", "payment_method": "financing"}
    answers = {}
    for age in (timedelta(0), ANSWER_WAIT + timedelta(minutes=1)):
        lead, key = _lead(api), _key()
        path = f"/leads/api/v1/leads/{lead['id']}/orders"
        with rt.db.session(Scope.system(me["group_id"])) as s:
            s.execute(insert(table).values(user_id=me["user_id"], key=key["Idempotency-Key"], group_id=me["group_id"],
                                           method="POST", path=path, status=None, body=None,
                                           created_at=utcnow() - age))
        r = api.post(path, as_=SALES, json=body, headers=key)
        answers[age] = r
        assert r.status_code == 409, r.json
        assert api.get(f"/leads/api/v1/leads/{lead['id']}", as_=SALES).json["level"] != "O"  # nothing run again
        assert not [e for e in events(platform, "leads.order.placed") if e["data"]["lead_id"] == lead["id"]]
    young, old = answers.values()
    assert young.json["code"] == "idempotency_in_progress" and young.headers["Retry-After"] == "2"
    assert old.json["code"] == "idempotency_answer_lost" and "Retry-After" not in old.headers
    assert "look the record up" in old.json["message"]
