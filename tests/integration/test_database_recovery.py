"""A lost database connection is not a 500: a read is tried once more, a write answers 503.

The leads service on the real PostgreSQL (as the role that owns nothing), called through its Flask
app. A connection is terminated with `pg_terminate_backend` at a chosen statement of a request —
from inside the request, so the fault lands exactly there: after the pool handed the connection out
(`pool_pre_ping` cannot see it coming) and before the statement runs.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy import event, make_url, text

from services.leads.bootstrap import create_app
from services.leads.adapters.models import Lead, StoreRef
from shared.auth import Principal, TokenSigner
from shared.errors import DATABASE_RETRY_AFTER
from shared.tenancy import Scope
from tests.conftest import wait_until
from tests.integration.test_row_level_security import runtime

pytestmark = pytest.mark.postgres

GROUP, STORE = "group-r", "store-r1"
LEADS = "/leads/api/v1/leads"


class Terminator:
    """Terminates the connection a matching statement is about to run on, `times` times."""

    def __init__(self, engine, admin_url: str, matches: Callable[[str], bool], times: int = 1):
        self.admin_url, self.matches, self.left = admin_url, matches, times
        self.fired = 0
        self.seen = 0  # matching statements, terminated or not
        event.listen(engine, "before_cursor_execute", self._before)
        self.engine = engine

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not self.matches(statement):
            return
        self.seen += 1
        if self.left <= 0:
            return
        self.left -= 1
        self.fired += 1
        pid = conn.connection.dbapi_connection.info.backend_pid
        with psycopg.connect(self.admin_url, autocommit=True) as admin:  # waits until the backend is gone
            assert admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone()[0]

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)


@pytest.fixture
def leads(pg_roles, tmp_path):
    """The leads service with one store and one lead, and a manager's Authorization header.

    A database of its own per test, not the run's shared one in a rolled-back transaction: the
    tests kill the service's connections and refuse new ones database-wide, and a retried read
    must find what another connection committed."""
    rt = runtime("leads", pg_roles, tmp_path)
    rt.migrate()
    with rt.db.session(Scope.system(GROUP)) as s:
        s.add(StoreRef(id=STORE, brand_id="brand", code=STORE, name=STORE))
        s.add(Lead(store_id=STORE, brand_id="brand", name="老客户", phone="+8613800000001", source="walk_in"))
    st = rt.settings
    signer = TokenSigner(st.jwt_private_key_file.read_bytes(), st.jwt_public_key_file.read_bytes(), st.jwt_issuer,
                         st.jwt_audience, 3600)
    manager = Principal(user_id=str(uuid.uuid4()), username="m", group_id=GROUP, group_code="r", role="store_manager",
                        store_ids=frozenset({STORE}))
    consultant = Principal(user_id=str(uuid.uuid4()), username="c", group_id=GROUP, group_code="r",
                           role="sales_consultant", store_ids=frozenset({STORE}))
    rt.auth = {"Authorization": f"Bearer {signer.sign(manager)}"}
    rt.consultant = {"Authorization": f"Bearer {signer.sign(consultant)}"}
    rt.client = create_app(runtime=rt).test_client()
    yield rt
    rt.db.engine.dispose()


def selects_leads(sql: str) -> bool:
    return sql.lstrip().upper().startswith("SELECT") and re.search(r"\sFROM leads\b", sql) is not None


def stored(rt, phone: str) -> tuple[int, int]:
    """(leads with this phone, outbox rows naming it), read afresh."""
    with rt.db.session(Scope.system(GROUP)) as s:
        return (s.scalar(text("SELECT count(*) FROM leads WHERE phone = :p"), {"p": phone}),
                s.scalar(text("SELECT count(*) FROM outbox WHERE body LIKE :p"), {"p": f"%{phone}%"}))


def assert_503(r) -> None:
    assert r.status_code == 503, r.get_data(as_text=True)
    assert r.headers["Retry-After"] == str(DATABASE_RETRY_AFTER)
    assert r.json["code"] == "database_unavailable" and "try again" in r.json["message"]


def retries(caplog) -> int:
    return sum("trying once more" in r.getMessage() for r in caplog.records)


def test_a_read_whose_connection_is_terminated_answers_200_after_one_retry(leads, pg_admin_url, caplog):
    assert leads.client.get(LEADS, headers=leads.auth).status_code == 200  # the pool holds a live connection
    cut = Terminator(leads.db.engine, pg_admin_url, selects_leads)
    r = leads.client.get(LEADS, headers=leads.auth)
    cut.remove()
    assert r.status_code == 200, r.get_data(as_text=True)
    assert [x["name"] for x in r.json] == ["老客户"]
    assert cut.fired == 1 and retries(caplog) == 1  # the first try lost its connection, the second one answered


def test_a_read_that_loses_its_connection_twice_answers_503_not_500(leads, pg_admin_url, caplog):
    cut = Terminator(leads.db.engine, pg_admin_url, selects_leads, times=5)
    r = leads.client.get(LEADS, headers=leads.auth)
    cut.remove()
    assert_503(r)
    assert cut.fired == 2 and retries(caplog) == 1  # tried once more, not again and again
    assert leads.client.get(LEADS, headers=leads.auth).status_code == 200  # and the next request is served


def test_a_write_whose_session_check_finds_its_connection_terminated_is_served(leads, pg_admin_url, caplog):
    """The session check reads on a small engine of its own, without a pre-ping: a connection of it that
    died is found by the read itself, which is then made once more on a fresh one; the request goes on."""
    leads.sessions.ttl = 0  # every request reads the user's state
    assert leads.client.get(LEADS, headers=leads.auth).status_code == 200  # the check's pool holds a live connection
    cut = Terminator(leads.sessions.reads, pg_admin_url, lambda sql: "session_versions" in sql)
    r = leads.client.post(LEADS, json={"name": "新客户", "phone": "+8613900000009", "source": "walk_in"},
                          headers=leads.auth)
    cut.remove()
    assert cut.fired == 1 and cut.seen == 2  # the first read lost its connection, the second one answered
    assert r.status_code == 201, r.get_data(as_text=True)
    assert stored(leads, "+8613900000009") == (1, 1)


def test_a_write_whose_connection_dies_mid_transaction_answers_503_and_saves_nothing(leads, pg_admin_url, caplog):
    phone = "+8613900000002"
    body = {"name": "新客户", "phone": phone, "source": "walk_in"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    # the lead row is already written in the transaction when the connection dies at its outbox row
    cut = Terminator(leads.db.engine, pg_admin_url, lambda sql: re.search(r"\bINSERT INTO outbox\b", sql) is not None)
    r = leads.client.post(LEADS, json=body, headers={**leads.auth, **key})
    cut.remove()
    assert cut.fired == 1 and cut.seen == 1 and retries(caplog) == 0  # a write is not tried again by the server
    assert_503(r)
    assert stored(leads, phone) == (0, 0)
    again = leads.client.post(LEADS, json=body, headers={**leads.auth, **key})  # the client's retry, same key
    assert again.status_code == 201, again.get_data(as_text=True)
    assert stored(leads, phone) == (1, 1)


def test_a_write_while_the_database_refuses_connections_answers_503_and_saves_nothing(leads, pg_admin_url):
    database = make_url(leads.settings.database_url).database
    phone = "+8613900000003"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        try:
            admin.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = %s", (database,))
            r = leads.client.post(LEADS, json={"name": "新客户", "phone": phone, "source": "walk_in"}, headers=leads.auth)
            health = leads.client.get("/leads/healthz")
        finally:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    assert_503(r)
    assert health.status_code == 503 and health.headers["Retry-After"]
    assert stored(leads, phone) == (0, 0)
    # the database is back: the pool connects afresh, no restart needed
    assert wait_until(lambda: leads.client.get(LEADS, headers=leads.auth).status_code == 200, timeout=30, interval=0.2)


def _orders(rt, lead_id: str) -> int:
    with rt.db.session(Scope.system(GROUP)) as s:
        return s.scalar(text("SELECT count(*) FROM orders WHERE lead_id = :l"), {"l": lead_id})


class WorkerDied(BaseException):
    """Stands for the process dying: nothing after it runs, no answer leaves."""


def test_a_worker_that_dies_right_after_the_commit_leaves_an_answer_the_retry_gets(leads):
    """The order and its Idempotency-Key's answer commit together: a worker that dies after the commit
    (before it answered) leaves nothing "in progress"; the client's retry is given the order."""
    lead = leads.client.post(LEADS, json={"name": "订单客户", "phone": "+8613900000004", "source": "walk_in"},
                             headers=leads.consultant).json
    key = {"Idempotency-Key": uuid.uuid4().hex}
    order = {"model": "凯美瑞", "price": 189800, "payment_method": "cash"}
    died = []  # from the order's commit on, the worker is dead: it runs no statement, no answer leaves

    def flush(session, _ctx, _instances) -> None:
        if any(type(o).__name__ == "Order" for o in session.new):
            session.info["wrote_an_order"] = True

    def commit(session) -> None:
        if session.info.pop("wrote_an_order", False):
            died.append(True)

    def dead(*_args) -> None:
        if died:
            raise WorkerDied

    def no_answer(response):
        dead()
        return response

    app = leads.client.application
    event.listen(leads.db.factory, "before_flush", flush)
    event.listen(leads.db.factory, "after_commit", commit)
    event.listen(leads.db.engine, "before_cursor_execute", dead)
    app.after_request_funcs.setdefault(None, []).append(no_answer)
    try:
        with pytest.raises(WorkerDied):
            leads.client.post(f"{LEADS}/{lead['id']}/orders", headers={**leads.consultant, **key}, json=order)
    finally:
        app.after_request_funcs[None].remove(no_answer)
        event.remove(leads.db.engine, "before_cursor_execute", dead)
        event.remove(leads.db.factory, "after_commit", commit)
        event.remove(leads.db.factory, "before_flush", flush)
    assert died and _orders(leads, lead["id"]) == 1  # it was committed
    again = leads.client.post(f"{LEADS}/{lead['id']}/orders", headers={**leads.consultant, **key}, json=order)
    assert again.status_code == 201, again.get_data(as_text=True)  # not 409 idempotency_in_progress
    assert again.headers["Idempotent-Replayed"] == "true" and again.json["lead_id"] == lead["id"]
    assert leads.client.get(f"/leads/api/v1/orders/{again.json['id']}", headers=leads.consultant).status_code == 200
    assert _orders(leads, lead["id"]) == 1


def test_a_connection_lost_while_the_answer_is_stored_saves_neither_and_the_retry_creates_once(leads, pg_admin_url):
    lead = leads.client.post(LEADS, json={"name": "订单客户", "phone": "+8613900000005", "source": "walk_in"},
                             headers=leads.consultant).json
    key = {"Idempotency-Key": uuid.uuid4().hex}
    order = {"model": "凯美瑞", "price": 189800, "payment_method": "cash"}
    cut = Terminator(leads.db.engine, pg_admin_url, lambda sql: re.match(r"\s*INSERT INTO idempotency_keys\b", sql) is not None)
    r = leads.client.post(f"{LEADS}/{lead['id']}/orders", headers={**leads.consultant, **key}, json=order)
    cut.remove()
    assert cut.fired == 1
    assert_503(r)
    assert _orders(leads, lead["id"]) == 0  # the 503 is true: the order went with its answer
    first = leads.client.post(f"{LEADS}/{lead['id']}/orders", headers={**leads.consultant, **key}, json=order)
    assert first.status_code == 201, first.get_data(as_text=True)
    again = leads.client.post(f"{LEADS}/{lead['id']}/orders", headers={**leads.consultant, **key}, json=order)
    assert again.status_code == 201 and again.json == first.json
    assert _orders(leads, lead["id"]) == 1


def test_a_table_missing_for_a_while_answers_503_and_saves_nothing(leads, pg_admin_url):
    """A table renamed away (a migration or a restore in progress): 503 with Retry-After, not 500; once
    it is back the same request goes through, with no restart."""
    database = make_url(leads.settings.database_url).database
    admin_url = make_url(pg_admin_url).set(database=database).render_as_string(hide_password=False)
    body = {"name": "新客户", "phone": "+8613900000006", "source": "walk_in"}
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute("ALTER TABLE leads RENAME TO leads_away")
        try:
            r = leads.client.post(LEADS, json=body, headers=leads.auth)
            listed = leads.client.get(LEADS, headers=leads.auth)
        finally:
            admin.execute("ALTER TABLE leads_away RENAME TO leads")
    assert_503(r)
    assert_503(listed)
    assert stored(leads, body["phone"]) == (0, 0)
    assert leads.client.post(LEADS, json=body, headers=leads.auth).status_code == 201
    assert stored(leads, body["phone"]) == (1, 1)
