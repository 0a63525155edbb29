"""On SQLite (the embedded default) reading takes no write lock: a GET, or a login, answers while
another connection holds the database's write lock; a GET that turns out to write runs again as a
writer and saves once; a write inside a read-only block is refused before it runs."""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text
from werkzeug.test import Client

from shared.db import WroteInReadOnly, make_engine, read_only
from tests.conftest import DEMO_PASSWORD

#: well below the 30 s busy timeout a writer waits for the lock: an answer within it did not wait
DEADLINE = 20.0


@contextmanager
def write_lock_held(engine) -> Iterator[None]:
    """Another connection (as another process would) holds the database's write lock in this block."""
    conn = sqlite3.connect(engine.url.database, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def answered(call: Callable[[], object]) -> dict:
    """Run `call` in a thread; what it returned, if it returned within the deadline."""
    out: dict = {}
    t = threading.Thread(target=lambda: out.setdefault("value", call()), daemon=True)
    t.start()
    t.join(DEADLINE)
    return out


def test_a_read_only_block_reads_while_another_connection_writes(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (n INTEGER)"))
        c.execute(text("INSERT INTO t VALUES (1)"))

    def read() -> int:
        with read_only(), engine.connect() as c:
            return c.scalar(text("SELECT count(*) FROM t"))

    with write_lock_held(engine):
        assert answered(read) == {"value": 1}
    engine.dispose()


def test_a_write_in_a_read_only_block_is_refused_before_it_runs(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (n INTEGER)"))
    with read_only() as mark, engine.connect() as c:
        c.scalar(text("SELECT count(*) FROM t"))
        with pytest.raises(WroteInReadOnly):
            c.execute(text("INSERT INTO t VALUES (1)"))
        assert mark.wrote
    with engine.begin() as c:  # outside the block transactions write again
        c.execute(text("INSERT INTO t VALUES (2)"))
        assert c.scalar(text("SELECT count(*) FROM t")) == 1
    engine.dispose()


def test_a_lead_list_answers_while_another_connection_holds_the_write_lock(platform, api):
    api.token("sh-toyota-pd.sales1")  # logged in before: the lock is only on the leads database
    with write_lock_held(platform.runtimes["leads"].db.engine):
        got = answered(lambda: api.get("/leads/api/v1/leads", as_="sh-toyota-pd.sales1"))
    assert "value" in got, "the list waited for the write lock"
    assert got["value"].status_code == 200


def test_a_login_answers_while_another_connection_holds_identitys_write_lock(platform):
    def login():
        return Client(platform.wsgi()).post("/identity/api/v1/auth/login", environ_base={"REMOTE_ADDR": "10.9.9.9"},
                                            json={"group": "demo", "username": "hz-vw-xh.sales4",
                                                  "password": DEMO_PASSWORD})

    with write_lock_held(platform.runtimes["identity"].db.engine):
        got = answered(login)
    assert "value" in got, "the login waited for the write lock"
    assert got["value"].status_code == 200


def test_a_read_that_writes_runs_again_as_a_writer_and_logs_once(platform, api):
    """The 360 view is a GET that writes the access log: it answers, and the read is logged once."""
    r = api.post("/leads/api/v1/leads", as_="sh-lexus-xh.sales1",
                 json={"name": "周先生", "phone": "13912340077", "source": "walk_in"})
    assert r.status_code == 201
    platform.wait_until_consumed()
    found = api.get("/customers/api/v1/customers?phone=13912340077", as_="sh-lexus-xh.manager").json
    assert len(found) == 1
    customers = platform.runtimes["customers"]
    log = customers.base.metadata.tables["access_log"]

    def logged() -> int:
        with customers.db.engine.connect() as c:
            return c.scalar(select(func.count()).select_from(log).where(log.c.customer_id == found[0]["id"],
                                                                         log.c.action == "view_360"))

    before = logged()
    r = api.get(f"/customers/api/v1/customers/{found[0]['id']}/360", as_="sh-lexus-xh.manager")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert logged() == before + 1


def test_a_get_that_writes_is_answered_by_its_second_run_which_writes_once(tmp_path):
    from flask import Flask

    from shared.db import ReadsFirst

    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE seen (n INTEGER)"))
    app = Flask(__name__)
    runs: list[int] = []

    @app.route("/count", methods=["GET", "POST"])
    def count():
        with engine.begin() as c:
            n = c.scalar(text("SELECT count(*) FROM seen"))
            runs.append(n)
            c.execute(text("INSERT INTO seen VALUES (:n)"), {"n": n})
        return {"seen_before": n}

    app.wsgi_app = ReadsFirst(app.wsgi_app)
    r = app.test_client().get("/count")
    assert r.status_code == 200 and r.json == {"seen_before": 0}
    assert runs == [0, 0]  # the first run was refused its write, the second made it
    with engine.connect() as c:
        assert c.scalar(text("SELECT count(*) FROM seen")) == 1
    assert app.test_client().post("/count").json == {"seen_before": 1}
    assert runs == [0, 0, 1]  # a POST writes from the start: one run
    engine.dispose()
