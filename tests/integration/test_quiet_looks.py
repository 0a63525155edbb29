"""An idle worker commits nothing (issue 12): its looks for work are read-only transactions ended with
ROLLBACK (`Database.reading`), and the pool's pre-ping is a protocol Sync rather than a statement
(a statement outside a transaction is a transaction PostgreSQL counts in `xact_commit`)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event, insert, make_url, text

from shared.bus.tables import bus_tables, known_groups_of
from shared.db import Database, make_base, make_engine, utcnow
from shared.errors import connection_lost
from shared.scheduler import DailyJob, Scheduler
from shared.tenancy import Scope

pytestmark = pytest.mark.postgres


def _ends(db: Database) -> dict[str, int]:
    """Counts of the engine's COMMITs and ROLLBACKs from now on."""
    ends = {"commit": 0, "rollback": 0}
    for name in ends:
        event.listen(db.engine, name, lambda conn, name=name: ends.__setitem__(name, ends[name] + 1))
    return ends


def test_the_pools_ping_is_a_sync_and_starts_no_transaction(pg_url):
    engine = make_engine(pg_url)
    try:
        with engine.connect() as c:
            c.execute(text("SELECT 1"))
        fairy = engine.raw_connection()  # the one pooled connection, given back below and checked out again
        pg = fairy.driver_connection
        with tempfile.TemporaryDirectory() as tmp:
            trace = Path(tmp) / "trace"
            with trace.open("w") as f:
                pg.pgconn.trace(f.fileno())
                fairy.close()
                with engine.connect() as c:  # the checkout's pre-ping, nothing else
                    assert c.connection.driver_connection is pg
                pg.pgconn.untrace()
            sent = trace.read_text()
        assert "\tSync" in sent and "ReadyForQuery" in sent
        assert "Query" not in sent.replace("ReadyForQuery", "")  # no statement: no transaction, no commit
    finally:
        engine.dispose()


def test_a_connection_the_server_ended_is_replaced_at_checkout(pg_url, pg_admin_url):
    engine = make_engine(pg_url)
    try:
        with engine.connect() as c:
            first = c.execute(text("SELECT pg_backend_pid()")).scalar()
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s, 10000)", (first,)).fetchone()[0]
        with engine.connect() as c:  # the ping finds it gone; the pool connects afresh
            assert c.execute(text("SELECT pg_backend_pid()")).scalar() != first
    finally:
        engine.dispose()


def test_a_read_on_a_connection_the_server_ended_is_a_lost_connection_raw_or_through_sqlalchemy(pg_url, pg_admin_url):
    """One predicate for the web's retry, the session check and the relay (which drives psycopg itself)."""
    engine = make_engine(pg_url, pool_pre_ping=False)
    try:
        with engine.connect() as c, psycopg.connect(pg_admin_url, autocommit=True) as admin:
            pid = c.execute(text("SELECT pg_backend_pid()")).scalar()
            c.rollback()
            admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))
            with pytest.raises(Exception) as wrapped:
                c.execute(text("SELECT 1"))
        assert connection_lost(wrapped.value)
        raw = psycopg.connect(make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False))
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 10000)", (raw.info.backend_pid,))
        with pytest.raises(psycopg.Error) as bare:
            raw.execute("SELECT 1")
        raw.close()
        assert connection_lost(bare.value)
        with pytest.raises(psycopg.Error) as syntax, psycopg.connect(pg_admin_url) as fine:
            fine.execute("SELEC 1")
        assert not connection_lost(syntax.value)
    finally:
        engine.dispose()


def test_a_look_is_a_read_only_transaction_ended_with_rollback(pg_url):
    db = Database(pg_url, [])
    try:
        ends = _ends(db)
        with db.reading(Scope.system()) as s:
            assert s.execute(text("SHOW transaction_read_only")).scalar() == "on"
            assert s.execute(text("SELECT current_setting('crm.all_groups', true)")).scalar() == "on"  # scoped
        assert ends == {"commit": 0, "rollback": 1}
        with pytest.raises(Exception, match="read-only transaction"), db.reading(Scope.system()) as s:
            s.execute(text("CREATE TABLE refused (a int)"))  # a write fails, it does not vanish
        with db.session(Scope.system()) as s:  # the same pooled connection, writing again
            assert s.execute(text("SHOW transaction_read_only")).scalar() == "off"
    finally:
        db.engine.dispose()


def test_the_schedulers_read_of_the_groups_commits_nothing_and_still_finds_a_new_group(pg_url):
    Base = make_base()
    _outbox, inbox = bus_tables(Base.metadata)
    known = known_groups_of(inbox)
    db = Database(pg_url, [])
    Base.metadata.create_all(db.engine)
    try:
        scheduler = Scheduler([DailyJob("noop", lambda gid, day: None)], db, None, known)
        ends = _ends(db)
        assert scheduler.groups(refresh=True) == []
        assert ends["commit"] == 0 and ends["rollback"] == 1
        with db.session(Scope.system()) as s:  # another replica's consumer records a group
            s.execute(insert(known).values(group_id="sh", known_at=utcnow(), timezone="Asia/Shanghai"))
        assert scheduler.groups(refresh=True) == [("sh", "Asia/Shanghai")]  # the fallback read finds it
    finally:
        db.engine.dispose()
