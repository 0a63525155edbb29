"""A fake unit of work for handler unit tests (the cosmicpython way: chapter 6, `FakeUnitOfWork`).

The handlers run against the interface of `shared.uow.UnitOfWork` — `session`, `scope`, `record`,
`emit`, `dispatch`, `commit`, `rollback`, the service's extras — and nothing here reaches a server:

- the session is on an in-memory SQLite database holding the service's tables, created once per
  test module, with the same tenant hook as the services' (a store's user sees only their store);
- each test runs in a transaction that is rolled back at its end, and every unit of work of the
  test is a SAVEPOINT inside it (SQLAlchemy's "Joining a Session into an External Transaction"), so
  `commit()` is seen by the test's next unit of work and nothing outlives the test;
- integration events go to `emitted` (their message bodies, in order), not to an outbox and a relay.

Unlike cosmicpython's fake there is no fake repository: the handlers query the session, so the fake
keeps the session and replaces what lies behind it (database server, outbox, broker).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import MetaData, StaticPool
from sqlalchemy.orm import Session, sessionmaker

from shared.bus.outbox import PENDING, emit_many
from shared.db import make_engine
from shared.events import Event
from shared.tenancy import Scope, install_scoping
from shared.uow import MessageBus, UnitOfWork


class FakeUnitOfWork(UnitOfWork):
    """`UnitOfWork` on the test's savepoint; integration events are collected in `emitted`."""

    def __init__(self, factory, scope: Scope, bus: MessageBus | None = None, emitted: list | None = None,
                 **extras: Any):
        super().__init__(factory, scope, bus, **extras)
        self.emitted: list[dict] = emitted if emitted is not None else []

    def emit(self, event: Event) -> None:
        emit_many(self.session, [event])  # where the leads handlers' own `emit(s, …)` put theirs too

    def commit(self) -> None:
        self.dispatch()
        self.session.flush()
        rows = self.session.info.pop(PENDING, [])
        self.session.commit()  # releases this unit of work's savepoint; the test's transaction goes on
        self.emitted.extend(json.loads(r["body"]) for r in rows)
        self.committed = True


class FakeDatabase:
    """One service's tables in memory; `uow(scope)` gives fake units of work inside the test's transaction."""

    def __init__(self, metadata: MetaData, models: list[type], bus: MessageBus | None = None, **extras: Any):
        self.engine = make_engine("sqlite://", poolclass=StaticPool)
        metadata.create_all(self.engine)
        self.models, self.bus, self.extras = models, bus, extras
        self.emitted: list[dict] = []
        self.factory: sessionmaker[Session] | None = None

    @contextmanager
    def test_transaction(self) -> Iterator[FakeDatabase]:
        with self.engine.connect() as conn:
            outer = conn.begin()
            self.factory = sessionmaker(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
            install_scoping(self.factory, self.models)
            self.emitted = []
            try:
                yield self
            finally:
                outer.rollback()
                self.factory = None

    def uow(self, scope: Scope) -> FakeUnitOfWork:
        assert self.factory is not None, "inside `test_transaction` only"
        return FakeUnitOfWork(self.factory, scope, self.bus, self.emitted, **self.extras)

    def types(self) -> list[str]:
        return [e["type"] for e in self.emitted]
