"""The outbox keeps exactly what the transaction committed, in the order the events were emitted."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

import shared.events.identity  # noqa: F401  (registers identity.store.* payloads)
from shared.bus.outbox import emit, emit_many, install_outbox
from shared.bus.tables import bus_tables
from shared.db import Database, id_column, make_base
from shared.events import Event
from shared.tenancy import Scope, Scoped
from tests.conftest import joined

Base = make_base()
OUTBOX, _INBOX = bus_tables(Base.metadata)


class Note(Scoped, Base):
    __tablename__ = "notes"
    id: Mapped[str] = id_column()
    text: Mapped[str] = mapped_column(String(40))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """SQLite in a file of the test's own; PostgreSQL in the run's database, inside a transaction
    rolled back at the end (the tables too: PostgreSQL's DDL is transactional)."""
    if request.param == "sqlite":
        d = Database(f"sqlite:///{tmp_path / 'o.sqlite'}", [Note])
        Base.metadata.create_all(d.engine)
        install_outbox(d.factory, OUTBOX)
        yield d
    else:
        d = Database(request.getfixturevalue("pg_run_url"), [Note])
        install_outbox(d.factory, OUTBOX)
        with joined(d) as conn:
            Base.metadata.create_all(conn)
            yield d
    d.engine.dispose()


def store_event(name: str) -> Event:
    sid = str(uuid.uuid4())
    return Event(type="identity.store.created", group_id="g1", store_id=sid,
                 data={"id": sid, "code": name, "name": name, "brand_id": str(uuid.uuid4()),
                       "timezone": "Asia/Shanghai"})


def written(db) -> list[str]:
    with db.session(Scope.system(None)) as s:
        return [json.loads(b)["data"]["code"] for b in s.execute(select(OUTBOX.c.body).order_by(OUTBOX.c.seq))
                .scalars()]


def test_committed_events_are_written_in_emit_order(db):
    with db.session(Scope.system("g1")) as s:
        emit(s, store_event("a"))
        s.add(Note(group_id="g1", text="x"))
        s.flush()
        emit_many(s, [store_event("b"), store_event("c")])
        emit(s, store_event("d"))
    assert written(db) == ["a", "b", "c", "d"]


def test_a_rolled_back_transaction_leaves_no_event(db):
    with pytest.raises(RuntimeError):
        with db.session(Scope.system("g1")) as s:
            emit(s, store_event("lost"))
            raise RuntimeError("the use case fails after emitting")
    with db.session(Scope.system("g1")) as s:
        emit(s, store_event("kept"))
    assert written(db) == ["kept"]


def test_a_savepoint_rolled_back_does_not_drop_the_events_emitted_before_it(db):
    with db.session(Scope.system("g1")) as s:
        emit(s, store_event("before"))
        try:
            with s.begin_nested():
                s.add(Note(group_id="g1", text="y"))
                s.flush()
                raise ValueError("the savepoint fails")
        except ValueError:
            pass
        with s.begin_nested():  # a savepoint that succeeds does not write them early either
            s.add(Note(group_id="g1", text="z"))
        emit(s, store_event("after"))
    assert written(db) == ["before", "after"]


def test_scrub_forgets_an_erased_person_in_sent_rows_only(db):
    """Erasure reaches the outbox: sent events about the person lose name and phone, figures stay."""
    from sqlalchemy import update

    import shared.events.leads  # noqa: F401
    from shared.bus.outbox import scrub
    from shared.db import utcnow
    from shared.privacy import pseudonym

    outbox = OUTBOX
    with db.session(Scope.system("g1")) as s:
        for lead_id in ("lead-1", "lead-2"):
            emit(s, Event(type="leads.lead.created", group_id="g1", store_id="s1", data={
                "lead_id": lead_id, "name": "王建国", "phone": "+8613800138000", "source": "walk_in"}))
    with db.session(Scope.system(None)) as c:
        c.execute(update(outbox).where(outbox.c.body.contains('"lead-1"')).values(sent_at=utcnow()))
    with db.session(Scope.system("g1")) as s:
        assert scrub(s, {"lead-1", "lead-2"}, "cust-1") == 1
    with db.session(Scope.system(None)) as c:
        bodies = {b["data"]["lead_id"]: b["data"] for b in map(json.loads, c.execute(select(outbox.c.body)).scalars())}
    assert bodies["lead-1"]["name"] == pseudonym("cust-1") and bodies["lead-1"]["phone"] == ""
    assert bodies["lead-1"]["source"] == "walk_in"
    assert bodies["lead-2"]["name"] == "王建国"  # not sent yet: its consumers apply the erasure themselves


def test_an_embedded_commit_wakes_only_waiting_relays_of_its_outbox_at_once(tmp_path):
    """In one process the relay sleeps on an event its own outbox's commits set (no 100 ms polling)."""
    import threading

    from shared.bus.relay import Relay
    from tests.conftest import wait_until

    class Recorder:
        def __init__(self):
            self.sent = []

        def publish_batch(self, messages, exchange=None):
            self.sent += [m.routing_key for m in messages]

        def close(self):
            pass

    d = Database(f"sqlite:///{tmp_path / 'w.sqlite'}", [Note])
    Base.metadata.create_all(d.engine)
    install_outbox(d.factory, OUTBOX)
    relays = [Relay(d.engine, OUTBOX, Recorder()) for _ in range(2)]  # two relays on one outbox, one process
    for r in relays:
        r.wakeup.fallback = 300.0  # no poll in this test: only the commit's signal can wake them
    threads = [threading.Thread(target=r.run_forever, daemon=True) for r in relays]
    for t in threads:
        t.start()
    try:
        for i in range(3):
            with d.session(Scope.system("g1")) as s:
                emit(s, store_event(f"店{i}"))
            wait_until(lambda i=i: sum(len(r.publisher.sent) for r in relays) == i + 1, 60)
    finally:
        for r in relays:
            r.stop()
        for t in threads:
            t.join(5)


def test_sqlite_relays_publish_without_the_write_lock_and_never_send_a_row_twice(tmp_path):
    """Embedded mode: an API write is not held up while a relay waits for the broker, and the relays
    of several processes (separate engines on one file) still send each row once."""
    import sqlite3
    import threading

    from sqlalchemy import text

    from shared.bus.relay import Relay
    from shared.db import make_engine

    path = tmp_path / "r.sqlite"
    d = Database(f"sqlite:///{path}", [Note])
    Base.metadata.create_all(d.engine)
    install_outbox(d.factory, OUTBOX)
    writes_during_publish: list[str] = []
    sent: list[str] = []
    lock = threading.Lock()

    class SlowBroker:
        def publish_batch(self, messages, exchange=None):
            # another writer of the same database, while the relay holds what it is publishing
            conn = sqlite3.connect(path, timeout=0.5, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO notes (id, group_id, text) VALUES (?, 'g1', 'x')", (str(uuid.uuid4()),))
                conn.execute("COMMIT")
                writes_during_publish.append("ok")
            except sqlite3.OperationalError as exc:
                writes_during_publish.append(str(exc))
            finally:
                conn.close()
            with lock:
                sent.extend(json.loads(m.body)["id"] for m in messages)

        def close(self):
            pass

    for i in range(40):
        with d.session(Scope.system("g1")) as s:
            emit(s, store_event(f"店{i}"))
    engines = [make_engine(f"sqlite:///{path}") for _ in range(3)]  # three processes' engines
    relays = [Relay(e, OUTBOX, SlowBroker(), batch=5) for e in engines]
    threads = [threading.Thread(target=lambda r=r: [r.run_once() for _ in range(10)]) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert len(sent) == 40 and len(set(sent)) == 40  # every row once
    assert writes_during_publish and set(writes_during_publish) == {"ok"}  # not "database is locked"
    with d.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar() == 0
    d.engine.dispose()
