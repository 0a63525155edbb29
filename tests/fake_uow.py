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

from shared.auth import Principal
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


GROUP = "g-unit"


def person(user: str, role: str, store: str | None = None, group: str = GROUP) -> Principal:
    """A caller as a token would name them: of one store, or of the whole group (`store=None`)."""
    return Principal(user_id=user, username=user, group_id=group, group_code="unit", role=role,
                     store_ids=frozenset({store}) if store else None)


def seed_stores(db: FakeDatabase, store_ref: type, staff_ref: type, stores: tuple[str, ...], consultants: int = 0,
                group: str = GROUP) -> None:
    """The service's copies of identity's stores (brand `b1`) with a manager `<store>.mgr` and
    consultants `<store>.s1`…, committed in the test's transaction."""
    with db.uow(Scope.system(group)) as uow:
        for store in stores:
            uow.session.add(store_ref(id=store, group_id=group, brand_id="b1", code=store, name=store))
            staff = [(f"{store}.mgr", "store_manager")] + [(f"{store}.s{i}", "sales_consultant")
                                                          for i in range(1, consultants + 1)]
            for user, role in staff:
                uow.session.add(staff_ref(id=user, group_id=group, store_id=store, username=user, name=user, role=role))
        uow.commit()
