"""The unit of work and the in-process message bus every service's handlers run in.

A handler (one use case) takes a `UnitOfWork` and changes rows through `uow.session`, whose reads
and writes the tenant hook scopes to `uow.scope`. What else should happen because of it is said as a
domain event: `uow.record(SurveyAnswered(...))`. The service's `MessageBus` runs the handlers
subscribed to that event in the same unit of work (so a low survey score opens its complaint in the
same transaction), and what other services must learn goes to the outbox with `uow.emit(Event)`.

Nothing is saved unless `commit()` is called: a dry run is a unit of work left uncommitted, and any
exception rolls back, follow-on effects included.

    with runtime.uow(principal.scope) as uow:
        task = handlers.log_attempt(uow, principal, task_id, body)
        uow.commit()
"""
from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from shared.bus.outbox import emit as _emit
from shared.events import Event
from shared.tenancy import Scope

log = logging.getLogger(__name__)
Subscriber = Callable[["UnitOfWork", Any], None]


class MessageBus:
    """One service's subscriptions: domain event class → the handlers that follow from it."""

    def __init__(self) -> None:
        self._subscribers: dict[type, list[Subscriber]] = defaultdict(list)

    def subscribe(self, event_type: type) -> Callable[[Subscriber], Subscriber]:
        def deco(fn: Subscriber) -> Subscriber:
            self._subscribers[event_type].append(fn)
            return fn

        return deco

    def subscribers(self, event: object) -> list[Subscriber]:
        return [fn for cls in type(event).__mro__ for fn in self._subscribers.get(cls, ())]


class UnitOfWork:
    """One transaction in one tenant scope; rolls back unless `commit()` is called.

    `extras` are the service's own run-time parts its handlers need (e.g. `pii` for the customers'
    ID-number keys, `settings`); they are plain attributes, set in the service's bootstrap.
    """

    def __init__(self, factory: Callable[[], Session], scope: Scope, bus: MessageBus | None = None, **extras: Any):
        self._factory, self.scope, self.bus = factory, scope, bus or MessageBus()
        self.extras = extras
        for name, value in extras.items():
            setattr(self, name, value)
        self._pending: deque = deque()
        self.committed = False
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        self.session.info["scope"] = self.scope
        self.session.info.update(self.extras)
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if not self.committed:
                # what the block loaded stays readable (a read, or a dry run's preview, is serialised
                # after the block); nothing of it is saved
                self.session.expunge_all()
                self.session.rollback()
        finally:
            self.session.close()

    def record(self, event: object) -> None:
        """A domain event: its subscribers run in this unit of work at `dispatch()` (or `commit()`)."""
        self._pending.append(event)

    def emit(self, event: Event) -> None:
        """An integration event for other services: written to the outbox in this transaction."""
        _emit(self.session, event)

    def dispatch(self) -> None:
        """Run the subscribers of every recorded event, and of the events they record, in order."""
        while self._pending:
            event = self._pending.popleft()
            for fn in self.bus.subscribers(event):
                fn(self, event)

    def commit(self) -> None:
        self.dispatch()
        self.session.commit()
        self.committed = True

    def rollback(self) -> None:
        self._pending.clear()
        self.session.rollback()
